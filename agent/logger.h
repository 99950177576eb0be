// The agent's side of its log: events go to the host's LogSink, filtered by
// level and one at a time. Internal to agent/.
#pragma once

#include <mutex>
#include <string_view>

#include "reprise/agent/log.h"

namespace reprise {

// Thread-safe: Log may be called from any thread; sink calls are serialized.
class Logger {
 public:
  // A null `sink` logs to stderr (StderrLogSink).
  Logger(LogLevel level, LogSink sink);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool Enabled(LogLevel level) const { return level >= level_; }
  void Log(LogLevel level, std::string_view component, std::string_view message) const;
  void Info(std::string_view component, std::string_view message) const {
    Log(LogLevel::kInfo, component, message);
  }
  void Warning(std::string_view component, std::string_view message) const {
    Log(LogLevel::kWarning, component, message);
  }

 private:
  const LogLevel level_;
  const LogSink sink_;
  mutable std::mutex mu_;  // one sink call at a time
};

}  // namespace reprise
