// What the agent tells its host's logs: journal fault episodes, jobs starting
// and ending, API calls that change things or are refused, flow changes.
//
//   options.log_level = reprise::LogLevel::kWarning;
//   options.log_sink = [](const reprise::LogEvent& e) { MyLogger(e.level, e.component, e.message); };
//
// Without a sink, each event is one line on stderr:
//   2026-12-07T15:20:01.123Z INFO journal: writes failing: disk is full
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "reprise/base/export.h"

namespace reprise {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning", "error": as options and log lines spell them.
REPRISE_EXPORT std::string_view LogLevelName(LogLevel level);
REPRISE_EXPORT std::optional<LogLevel> ParseLogLevel(std::string_view s);

struct LogEvent {
  std::chrono::system_clock::time_point time;
  LogLevel level = LogLevel::kInfo;
  std::string_view component;  // "journal", "jobs", "api", ...
  std::string_view message;    // one line, no trailing newline
};

// Called for each event at or above the agent's log_level, one call at a
// time (the agent serializes them), from the agent's threads: keep it short.
using LogSink = std::function<void(const LogEvent& event)>;

// The default sink: "TIME LEVEL component: message" on stderr, UTC.
REPRISE_EXPORT void StderrLogSink(const LogEvent& event);

}  // namespace reprise
