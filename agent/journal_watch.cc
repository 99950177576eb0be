#include "journal_watch.h"

#include <pthread.h>

#include <string>

namespace reprise {
namespace {

std::string Seconds(std::chrono::system_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

}  // namespace

JournalWatch::JournalWatch(std::function<RecordingStats()> stats, const Logger* log,
                           std::function<void(bool healthy)> on_change,
                           std::chrono::milliseconds every)
    : stats_(std::move(stats)), log_(log), on_change_(std::move(on_change)), every_(every) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "reprise-watch");
    Run();
  });
}

JournalWatch::~JournalWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void JournalWatch::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Check();
    lock.lock();
    cv_.wait_for(lock, every_, [this] { return stopping_; });
  }
}

void JournalWatch::Check() {
  const RecordingStats s = stats_();
  if (s.healthy() == healthy_) {
    if (healthy_) failed_writes_before_ = s.failed_writes;
    return;
  }
  healthy_ = s.healthy();
  if (!healthy_) {
    failing_since_ = s.failing_since;
    log_->Log(LogLevel::kError, "journal",
              "writes failing: " + s.last_error + "; " + std::to_string(s.queued) +
                  " records wait in the queue and are written when the fault clears");
  } else {
    // The recorder clears failing_since at recovery: the start seen is kept.
    log_->Log(LogLevel::kInfo, "journal",
              "writes recovered after " + Seconds(s.recovered_at - failing_since_) + " and " +
                  std::to_string(s.failed_writes - failed_writes_before_) +
                  " failed writes (last: " + s.last_fault + ")");
  }
  on_change_(healthy_);
}

}  // namespace reprise
