#include "reprise/reflow/engine.h"

#include <pthread.h>

#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

#include "rate_limiter.h"
#include "reprise/base/clock.h"
#include "reprise/base/ulid.h"
#include "reprise/store/instance.h"

namespace reprise {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMaxConcurrency = 64;

Status ValidateSpec(const JobSpec& spec) {
  const bool blank = spec.filter.find_first_not_of(" \t\r\n") == std::string::npos;
  if (spec.kind == kRederiveJob) {
    if (spec.deriver.empty()) return InvalidArgument("rederive: name a deriver (see Describe.derivers)");
    if (blank && spec.keys.empty()) {
      return InvalidArgument("rederive: give keys or a filter that selects them, e.g. `channel = payments`");
    }
  } else if (spec.kind != kReflowJob && spec.kind != kMigrationJob) {
    return InvalidArgument("unknown job kind \"" + spec.kind + "\"; kinds: reflow, rederive, migration");
  } else if (blank) {
    return InvalidArgument(
        "reflow: the filter is empty; select the messages to replay explicitly, e.g. "
        "`outcome = failed and recorded > -1h`");
  }
  if (spec.rate < 0) return InvalidArgument("reflow: rate must be 0 (unlimited) or positive");
  if (spec.concurrency > kMaxConcurrency) {
    return InvalidArgument("reflow: concurrency " + std::to_string(spec.concurrency) +
                           " is more than the maximum of " + std::to_string(kMaxConcurrency));
  }
  return Status::Ok();
}

// What a pin is bound to: the spec's selection, so that a token cannot pin
// another filter or target. FNV-1a, stable across builds and processes.
uint64_t SelectionFingerprint(const JobSpec& spec) {
  const std::string text = spec.kind + '\0' + spec.filter + '\0' + std::to_string(static_cast<int>(spec.target)) +
                           '\0' + std::to_string(spec.limit) + (spec.include_resolved ? "R" : "r") +
                           (spec.latest_per_key ? "L" : "l");
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A pin: "1.BEFORE_ID.COUNT.ISSUED_MS.FINGERPRINT" (ULIDs have no dots).
std::string EncodePin(const JobSpec& spec, uint64_t count, int64_t issued_ms) {
  return "1." + spec.before_id + "." + std::to_string(count) + "." + std::to_string(issued_ms) + "." +
         std::to_string(SelectionFingerprint(spec));
}

// Sets spec.before_id and spec.expect_total from spec.pin.
Status ApplyPin(JobSpec& spec, std::chrono::seconds lifetime) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t dot = spec.pin.find('.', at);
    parts.push_back(spec.pin.substr(at, dot == std::string::npos ? std::string::npos : dot - at));
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  auto number = [](const std::string& s, uint64_t* out) {
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    *out = std::stoull(s);
    return true;
  };
  uint64_t count = 0, issued_ms = 0, fingerprint = 0;
  if (parts.size() != 5 || parts[0] != "1" || !IsUlid(parts[1]) || !number(parts[2], &count) ||
      !number(parts[3], &issued_ms) || !number(parts[4], &fingerprint)) {
    return InvalidArgument("pin \"" + spec.pin.substr(0, 80) +
                           "\" is not one a dry run issued; pass DryRunSummary.pin as it came, or run the dry run again");
  }
  if (fingerprint != SelectionFingerprint(spec)) {
    return InvalidArgument("the pin is of another dry run (its filter, target or options differ); run the dry run of "
                           "this reflow and pass its pin");
  }
  const int64_t age_ms = NowUs() / 1000 - static_cast<int64_t>(issued_ms);
  if (age_ms > std::chrono::duration_cast<std::chrono::milliseconds>(lifetime).count()) {
    return FailedPrecondition("the dry run is " + std::to_string(age_ms / 1000) + " s old, older than the " +
                              std::to_string(lifetime.count()) +
                              " s a pin lasts: what it counted may be stale; run the dry run again");
  }
  spec.before_id = parts[1];
  spec.expect_total = count;
  return Status::Ok();
}

}  // namespace

struct ReflowEngine::Running {
  explicit Running(JobRecord r) : record(std::move(r)), limiter(record.spec.rate) {}
  JobRecord record;  // as loaded at launch; counters below are live on top
  // Paces this instance's lanes at its share of the job's rate.
  RateLimiter limiter;
  std::atomic<double> rate_share{0};  // deliveries/s this instance may make; 0: unlimited
  // Live instances of the service, which share the job's keys and rate.
  std::atomic<size_t> live{1};
  std::atomic<bool> halt{false};      // stop delivering: cancel, shutdown or max_failures
  std::atomic<bool> cancel{false};    // an operator cancelled it
  std::atomic<bool> shutdown{false};  // the engine stops: the job stays resumable
  std::atomic<bool> finished{false};  // Run has returned; the thread can be joined
  std::atomic<uint64_t> done{0}, failed{0}, redelivered{0}, changed{0};  // since launch
  Clock::time_point launched = Clock::now();
  std::mutex mu;
  std::condition_variable cv;  // wakes the lease keeper and waits between claims
  std::string end_reason;      // guarded by mu
  bool batches_over = false;   // guarded by mu: the keeper stops
  bool poked = false;          // guarded by mu: the keeper renews now
  std::thread thread;
};

ReflowEngine::ReflowEngine(Journal* journal, Dispatcher* dispatcher, EngineOptions options)
    : journal_(journal), dispatcher_(dispatcher), options_(std::move(options)) {}

ReflowEngine::~ReflowEngine() {
  std::map<std::string, std::shared_ptr<Running>> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    running = running_;
  }
  for (auto& [id, job] : running) {
    job->shutdown = true;
    job->halt = true;
    job->cv.notify_all();
  }
  for (auto& [id, job] : running) {
    if (job->thread.joinable()) job->thread.join();
  }
}

StatusOr<JobPlan> ReflowEngine::DryRun(const JobSpec& input) {
  REPRISE_RETURN_IF_ERROR(ValidateSpec(input));
  JobSpec spec = input;
  const int64_t now_ms = NowUs() / 1000;
  spec.before_id = UlidLowerBound(now_ms + 1);  // every id made up to now
  REPRISE_ASSIGN_OR_RETURN(auto plan, journal_->jobs().PlanJob(spec));
  plan.pin = EncodePin(spec, plan.messages, now_ms);
  return plan;
}

StatusOr<JobRecord> ReflowEngine::Start(const JobSpec& input) {
  JobSpec spec = input;
  if (spec.concurrency == 0) spec.concurrency = 1;
  spec.service = options_.service;
  REPRISE_RETURN_IF_ERROR(ValidateSpec(spec));
  if (!spec.pin.empty()) REPRISE_RETURN_IF_ERROR(ApplyPin(spec, options_.pin_lifetime));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReapFinished();
    if (running_.size() >= options_.max_running_jobs) {
      return ResourceExhausted(std::to_string(running_.size()) +
                               " jobs are running, the maximum; wait for one to end or cancel one");
    }
  }
  REPRISE_ASSIGN_OR_RETURN(auto record, journal_->jobs().CreateJob(spec, options_.instance));
  Launch(record);
  return record;
}

StatusOr<size_t> ReflowEngine::ResumeUnfinished() {
  REPRISE_ASSIGN_OR_RETURN(auto jobs, journal_->jobs().UnfinishedJobs());
  size_t resumed = 0;
  for (JobRecord& job : jobs) {
    if (!job.spec.service.empty() && job.spec.service != options_.service) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ReapFinished();
      if (stopping_ || running_.count(job.id)) continue;
    }
    if (job.state == JobState::kCancelling) {
      // Whoever was cancelling it is gone or about to stop: end it.
      REPRISE_RETURN_IF_ERROR(journal_->jobs().SetJobState(job.id, JobState::kCancelled,
                                                           "cancelled while the process restarted"));
      continue;
    }
    // Items a dead instance left in flight are settled by the claims.
    Launch(job);
    ++resumed;
  }
  return resumed;
}

void ReflowEngine::Launch(JobRecord record) {
  auto job = std::make_shared<Running>(std::move(record));
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  ReapFinished();
  if (running_.count(job->record.id)) return;  // already runs here
  running_[job->record.id] = job;
  if (options_.log) {
    options_.log("job " + job->record.id + " runs here (" + std::to_string(job->record.total) +
                 " items, " + std::to_string(job->record.done) + " done)");
  }
  job->thread = std::thread([this, job] {
    pthread_setname_np(pthread_self(), "reprise-job");
    Run(job);
  });
}

StatusOr<JobRecord> ReflowEngine::Cancel(const std::string& id, const std::string& reason) {
  REPRISE_ASSIGN_OR_RETURN(auto record, journal_->jobs().GetJob(id));
  if (IsFinal(record.state)) {
    return FailedPrecondition("job " + id + " has already ended (" +
                              std::string(JobStateName(record.state)) + "); nothing to cancel");
  }
  std::shared_ptr<Running> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end() && !it->second->finished) job = it->second;
  }
  const std::string why = reason.empty() ? "cancelled by an operator" : "cancelled: " + reason;
  if (job) {
    {
      std::lock_guard<std::mutex> lock(job->mu);
      job->end_reason = why;
    }
    REPRISE_RETURN_IF_ERROR(journal_->jobs().SetJobState(id, JobState::kCancelling, why));
    job->cancel = true;
    job->halt = true;
    job->cv.notify_all();
  } else {
    // Not running in this process (it will be settled on resume): end it now.
    REPRISE_RETURN_IF_ERROR(journal_->jobs().SetJobState(id, JobState::kCancelled, why));
  }
  return journal_->jobs().GetJob(id);
}

StatusOr<JobProgress> ReflowEngine::Progress(const std::string& id) {
  std::shared_ptr<Running> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) job = it->second;
  }
  REPRISE_ASSIGN_OR_RETURN(auto record, journal_->jobs().GetJob(id));
  JobProgress p{.job = record};
  if (job && !IsFinal(record.state)) {
    // The journal's counters move per batch; the live ones per delivery.
    uint64_t done = job->record.done + job->done.load();
    if (done > p.job.done) {
      p.job.done = done;
      p.job.failed = job->record.failed + job->failed.load();
      p.job.redelivered = job->record.redelivered + job->redelivered.load();
      p.job.changed = job->record.changed + job->changed.load();
    }
    double seconds = std::chrono::duration<double>(Clock::now() - job->launched).count();
    if (seconds > 0.2) p.rate = static_cast<double>(job->done.load()) / seconds;
    p.rate_share = job->rate_share.load();
    if (p.rate > 0 && p.job.total > p.job.done) {
      p.eta_seconds = static_cast<double>(p.job.total - p.job.done) / p.rate;
    }
  }
  return p;
}

StatusOr<std::vector<JobRecord>> ReflowEngine::List(uint32_t limit) {
  REPRISE_ASSIGN_OR_RETURN(auto jobs, journal_->jobs().ListJobs(limit));
  for (JobRecord& j : jobs) {
    if (IsFinal(j.state)) continue;
    auto p = Progress(j.id);
    if (p.ok()) j = p->job;
  }
  return jobs;
}

void ReflowEngine::CountLive(Running& job) {
  const std::string& service = job.record.spec.service.empty() ? options_.service : job.record.spec.service;
  auto live = journal_->instances().ListInstances(service, false);
  if (!live.ok()) return;  // keep the last count while the journal is away
  // Every live instance of the service runs the job (it joins at its next
  // heartbeat), so each takes an equal part of the keys and of the rate.
  // Without a registry (no agent) this engine is alone.
  const size_t n = std::max<size_t>(1, live->size());
  job.live = n;
  const double rate = job.record.spec.rate;
  if (rate <= 0) return;
  const double share = rate / static_cast<double>(n);
  if (share != job.rate_share.load()) {
    job.rate_share = share;
    job.limiter.SetRate(share);
  }
}

void ReflowEngine::Run(std::shared_ptr<Running> job) {
  CountLive(*job);
  std::thread keeper([this, &job] { KeepLease(*job); });
  RunBatches(*job);
  {
    std::lock_guard<std::mutex> lock(job->mu);
    job->batches_over = true;
  }
  job->cv.notify_all();
  keeper.join();
  JobState final_state = JobState::kCompleted;
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(job->mu);
    reason = job->end_reason;
  }
  if (job->shutdown) {
    final_state = JobState::kRunning;  // resumable: the next start picks it up
  } else if (job->cancel) {
    final_state = JobState::kCancelled;
  } else if (!reason.empty()) {
    final_state = JobState::kStopped;  // max_failures
  }
  if (options_.log) {
    const JobRecord& r = job->record;
    std::string line = "job " + r.id + " ";
    line += final_state == JobState::kRunning
                ? "paused as the process stops (resumable)"
                : std::string(JobStateName(final_state)) + (reason.empty() ? "" : ": " + reason);
    options_.log(line);
  }
  if (final_state != JobState::kRunning) {
    Status set = journal_->jobs().SetJobState(job->record.id, final_state, reason);
    if (!set.ok()) {
      std::fprintf(stderr, "reprise: job %s ended but its state could not be saved: %s\n",
                   job->record.id.c_str(), set.ToString().c_str());
    }
  }
  job->finished = true;
}

void ReflowEngine::ReapFinished() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second->finished) {
      it->second->thread.join();
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {
// Retries `fn` until it succeeds or the engine stops: a journal that is
// briefly unavailable makes a job wait, not fail.
template <typename Fn>
Status Retry(const std::string& job_id, const std::atomic<bool>& shutdown, Fn&& fn) {
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    Status st = fn();
    if (st.ok() || shutdown) return st;
    std::fprintf(stderr, "reprise: job %s: %s; retrying\n", job_id.c_str(), st.ToString().c_str());
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}
}  // namespace

void ReflowEngine::RunBatches(Running& job) {
  const JobSpec& spec = job.record.spec;
  const std::string& id = job.record.id;
  const uint32_t lanes = std::max<uint32_t>(1, spec.concurrency);
  const bool rederive = spec.kind == kRederiveJob;
  RateLimiter& limiter = job.limiter;

  // The next batch, read while this one's copies are committed (a lone
  // instance; see JobStore::PeekItems).
  std::vector<JobItem> peeked;
  while (!job.halt) {
    std::vector<JobItem> items;
    // A whole batch when alone; in a fleet, this instance's share of the
    // free keys, so that the others get keys too.
    const ItemClaim claim{.instance = options_.instance, .max = options_.batch_size, .max_bytes = options_.batch_bytes,
                          .share = job.live.load(), .lease = options_.lease};
    Status claimed = Retry(id, job.shutdown, [&] {
      auto got = peeked.empty() ? journal_->jobs().ClaimItems(id, claim)
                                : journal_->jobs().ClaimPeekedItems(id, claim, std::exchange(peeked, {}));
      if (!got.ok()) return Status(got.status());
      items = std::move(*got);
      return Status::Ok();
    });
    if (!claimed.ok()) return;  // shutting down; resumable
    if (items.empty()) {
      // Nothing to claim: the job is over when every item is done, by
      // whichever instance. Otherwise others hold items (or an earlier item
      // of their keys): wait for them, or for their leases to run out.
      auto now = journal_->jobs().GetJob(id);
      if (now.ok() && (now->done >= now->total || IsFinal(now->state))) return;
      std::unique_lock<std::mutex> lock(job.mu);
      job.cv.wait_for(lock, options_.tick, [&] { return job.halt.load(); });
      continue;
    }

    // Lanes by key: one key's items stay in one lane, in selection order.
    std::vector<std::vector<size_t>> lane_items(lanes);
    for (size_t i = 0; i < items.size(); ++i) {
      size_t lane = lanes == 1 ? 0 : std::hash<std::string>{}(items[i].message.key) % lanes;
      lane_items[lane].push_back(i);
    }
    std::vector<std::optional<ItemResult>> results(items.size());
    auto run_lane = [&](const std::vector<size_t>& indexes) {
      for (size_t i : indexes) {
        if (!limiter.Acquire(job.halt)) return;
        const JobItem& item = items[i];
        DispatchResult r =
            rederive ? dispatcher_->Rederive(spec.deriver, item.message.key, id, spec.dry_run)
                     : dispatcher_->Redeliver(item.message, spec.target, id, item.redelivery);
        results[i] = ItemResult{.seq = item.seq, .copy_id = r.copy_id, .outcome = r.outcome,
                                .redelivery = item.redelivery, .changed = r.changed};
        if (r.changed) job.changed.fetch_add(1);
        job.done.fetch_add(1);
        if (item.redelivery) job.redelivered.fetch_add(1);
        if (r.outcome != Outcome::kFailed) continue;
        uint64_t failed = job.record.failed + job.failed.fetch_add(1) + 1;
        if (spec.max_failures > 0 && failed > spec.max_failures) {
          std::lock_guard<std::mutex> lock(job.mu);
          if (job.end_reason.empty()) {
            job.end_reason = "stopped: " + std::to_string(failed) +
                             (rederive ? " keys failed to re-derive" : " deliveries failed") +
                             ", more than max_failures " +
                             std::to_string(spec.max_failures) + "; last error: " + r.error;
          }
          job.halt = true;
        }
      }
    };
    std::vector<std::thread> threads;
    for (uint32_t l = 1; l < lanes; ++l) {
      if (!lane_items[l].empty()) threads.emplace_back(run_lane, std::cref(lane_items[l]));
    }
    run_lane(lane_items[0]);
    for (auto& t : threads) t.join();

    std::vector<ItemResult> finished;
    std::vector<int64_t> unprocessed;
    for (size_t i = 0; i < items.size(); ++i) {
      if (results[i]) finished.push_back(*results[i]);
      else unprocessed.push_back(items[i].seq);
    }
    // The writer is committing this batch's copies: meanwhile, on a reader,
    // the next batch is read (at most two batches in memory). A failed
    // read only means the next claim reads for itself.
    if (!job.halt && claim.share <= 1) {
      auto next = journal_->jobs().PeekItems(id, claim);
      if (next.ok()) peeked = std::move(*next);
    }
    // Copies are committed before their items count as done, so a crash
    // between the two leaves items in flight with a copy, which recovery
    // counts instead of delivering again.
    if (!Retry(id, job.shutdown, [&] { return dispatcher_->Flush(); }).ok()) return;
    if (!Retry(id, job.shutdown, [&] { return journal_->jobs().CompleteItems(id, options_.instance, finished); }).ok()) {
      return;
    }
    if (!Retry(id, job.shutdown, [&] { return journal_->jobs().ReleaseItems(id, options_.instance, unprocessed); }).ok()) {
      return;
    }
  }
}

void ReflowEngine::Poke() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [id, job] : running_) {
    {
      std::lock_guard<std::mutex> job_lock(job->mu);
      job->poked = true;
    }
    job->cv.notify_all();
  }
}

void ReflowEngine::KeepLease(Running& job) {
  const std::string& id = job.record.id;
  const JobSpec& spec = job.record.spec;
  std::unique_lock<std::mutex> lock(job.mu);
  while (!job.batches_over) {
    job.cv.wait_for(lock, options_.tick, [&] { return job.batches_over || job.poked; });
    if (job.batches_over) break;
    job.poked = false;
    lock.unlock();
    // Renewing also reads the job as the whole fleet sees it: a cancel or a
    // stop made through another instance, and everyone's failures.
    auto now = journal_->jobs().RenewLease(id, options_.instance, options_.lease);
    CountLive(job);  // instances come and go
    lock.lock();
    if (!now.ok()) continue;  // the journal is away; the leases outlast a few ticks
    bool halt = false;
    if (now->state == JobState::kCancelling || now->state == JobState::kCancelled) {
      job.cancel = true;
      halt = true;
    } else if (now->state == JobState::kStopped || now->state == JobState::kCompleted) {
      halt = true;
    } else if (spec.max_failures > 0 && now->failed > spec.max_failures && job.end_reason.empty()) {
      job.end_reason = "stopped: " + std::to_string(now->failed) +
                       " deliveries failed across the fleet, more than max_failures " +
                       std::to_string(spec.max_failures);
      halt = true;
    }
    if (halt && job.end_reason.empty()) job.end_reason = now->reason;
    if (halt) {
      job.halt = true;
      job.cv.notify_all();  // RunBatches may be waiting for others' items
    }
  }
}

}  // namespace reprise
