// Watches the journal's health for those who cannot ask: the gRPC health
// service and the log. A fault episode (a run of failed writes, see
// RecordingStats) is logged once when it starts and once when it ends, not
// per retry. Internal to agent/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "logger.h"
#include "reprise/agent/agent.h"

namespace reprise {

// Thread-safe. Its thread reads `stats` every `every` until destroyed.
class JournalWatch {
 public:
  // `on_change(healthy)` is called from the watch's thread when an episode
  // starts (false) or ends (true). `log` must outlive the watch.
  JournalWatch(std::function<RecordingStats()> stats, const Logger* log,
               std::function<void(bool healthy)> on_change,
               std::chrono::milliseconds every = std::chrono::milliseconds(100));
  ~JournalWatch();
  JournalWatch(const JournalWatch&) = delete;
  JournalWatch& operator=(const JournalWatch&) = delete;

 private:
  void Run();
  void Check();  // one look at the stats

  const std::function<RecordingStats()> stats_;
  const Logger* const log_;
  const std::function<void(bool)> on_change_;
  const std::chrono::milliseconds every_;
  bool healthy_ = true;  // as last seen; only the watch's thread uses it
  // Failed writes before the current episode, and its start; same.
  uint64_t failed_writes_before_ = 0;
  std::chrono::system_clock::time_point failing_since_{};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace reprise
