#include "retention.h"

#include <pthread.h>
#include <time.h>

#include <climits>

#include "reprise/base/clock.h"
#include "reprise/base/ulid.h"
#include "reprise/store/job.h"

namespace reprise {
namespace {

// Steps per run, at most: a run over a huge backlog ends, and the next goes on.
constexpr int kMaxStepsPerRun = 10000;
// Between steps the writer gets the journal.
constexpr std::chrono::milliseconds kBetweenSteps{2};

std::string Utc(int64_t us) {
  const time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char out[32];
  strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return out;
}

std::string Span(std::chrono::seconds s) {
  const int64_t n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

}  // namespace

Status RemovedByRetention(Journal& journal, const AgentOptions& options, std::string_view id,
                          Status status) {
  if (status.code() != StatusCode::kNotFound) return status;
  const int64_t id_ms = UlidTimeMs(id);
  if (id_ms < 0) return status;
  auto extent = journal.Extent();
  if (!extent.ok() || extent->oldest_us == 0 || id_ms * 1000 >= extent->oldest_us / 1000 * 1000) {
    return status;
  }
  return NotFound("message " + std::string(id) + " was removed by retention (" +
                  RetentionPolicy(options) + "): the journal keeps messages from " +
                  Utc(extent->oldest_us) + " on");
}

Retention::Retention(Journal* journal, const AgentOptions& options, const Logger* log)
    : journal_(journal),
      log_(log),
      policy_(RetentionPolicy(options)),
      retain_for_(options.retain_for),
      retain_bytes_(options.retain_bytes),
      every_(options.retention_every),
      step_(options.retention_step == 0 ? 1 : options.retention_step) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "reprise-retain");
    Loop();
  });
}

Retention::~Retention() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

RetentionStats Retention::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string RetentionPolicy(const AgentOptions& options) {
  std::string p = options.retain_for.count() > 0 ? "keep " + Span(options.retain_for) : "keep any age";
  if (options.retain_bytes > 0) p += ", at most " + std::to_string(options.retain_bytes) + " bytes";
  return p;
}

bool Retention::Pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void Retention::Loop() {
  do {
    RunOnce();
  } while (Pause(every_));
}

std::string Retention::MustWait() {
  auto jobs = journal_->jobs().UnfinishedJobs();
  if (!jobs.ok()) return "the jobs cannot be read: " + jobs.status().ToString();
  if (!jobs->empty()) return "job " + jobs->front().id + " is unfinished";
  return "";
}

void Retention::RunOnce() {
  const int64_t now = NowUs();
  const int64_t by_age = retain_for_.count() > 0 ? now - retain_for_.count() * 1000000 : INT64_MIN;
  std::string waiting_for = MustWait();
  std::string error;
  uint64_t removed = 0;
  for (int step = 0; waiting_for.empty() && step < kMaxStepsPerRun; ++step) {
    int64_t cutoff = by_age;
    if (retain_bytes_ > 0) {
      auto extent = journal_->Extent();
      if (!extent.ok()) {
        error = extent.status().ToString();
        break;
      }
      if (extent->bytes > retain_bytes_) cutoff = now;  // the oldest go, whatever their age
    }
    if (cutoff == INT64_MIN) break;
    auto n = journal_->RemoveOldest(cutoff, step_);
    if (!n.ok()) {
      error = n.status().ToString();
      break;
    }
    if (*n == 0) break;
    removed += *n;
    if (!Pause(kBetweenSteps)) break;
    // A job may have started meanwhile: its selection is fixed and must stay.
    waiting_for = MustWait();
  }
  auto extent = journal_->Extent();
  RetentionStats before;
  {
    std::lock_guard<std::mutex> lock(mu_);
    before = stats_;
    stats_.removed += removed;
    stats_.last_run_us = NowUs();
    stats_.last_removed = removed;
    if (removed > 0) stats_.last_removal_us = stats_.last_run_us;
    stats_.waiting_for = waiting_for;
    stats_.last_error = error;
    if (extent.ok()) {
      stats_.oldest_us = extent->oldest_us;
      stats_.journal_bytes = extent->bytes;
    }
  }
  if (removed > 0) {
    log_->Info("retention", "removed " + std::to_string(removed) + " messages (" + policy_ +
                                "); oldest now " +
                                (extent.ok() && extent->oldest_us ? Utc(extent->oldest_us) : "none") +
                                ", journal " +
                                std::to_string(extent.ok() ? extent->bytes : 0) + " bytes");
  }
  // Waiting and failing are logged as they begin, not at every run.
  if (!waiting_for.empty() && waiting_for != before.waiting_for) {
    log_->Info("retention", "waits: " + waiting_for + " and may need old messages");
  }
  if (!error.empty() && error != before.last_error) {
    log_->Warning("retention", "failed: " + error + "; the next run tries again");
  }
}

}  // namespace reprise
