#include "logger.h"

#include <time.h>

#include <cstdio>
#include <string>

namespace reprise {

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::optional<LogLevel> ParseLogLevel(std::string_view s) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (s == LogLevelName(l)) return l;
  }
  return std::nullopt;
}

void StderrLogSink(const LogEvent& event) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(event.time.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char when[40];
  const size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(when + n, sizeof when - n, ".%03dZ", static_cast<int>(ms % 1000));
  std::string level(LogLevelName(event.level));
  for (char& c : level) c = static_cast<char>(c - 'a' + 'A');
  // One write per line, so that lines of concurrent writers do not interleave.
  std::string line = std::string(when) + " " + level + " " + std::string(event.component) + ": " +
                     std::string(event.message) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

Logger::Logger(LogLevel level, LogSink sink)
    : level_(level), sink_(sink ? std::move(sink) : LogSink(StderrLogSink)) {}

void Logger::Log(LogLevel level, std::string_view component, std::string_view message) const {
  if (!Enabled(level)) return;
  LogEvent event{.time = std::chrono::system_clock::now(), .level = level,
                 .component = component, .message = message};
  std::lock_guard<std::mutex> lock(mu_);
  try {
    sink_(event);
  } catch (...) {
    // A host's sink that throws must not take the agent's threads down.
  }
}

}  // namespace reprise
