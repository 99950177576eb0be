// The reflow engine: runs jobs that replay stored messages into the process
// (target self) or out to the downstreams (target downstream), and re-derive
// jobs that recompute the output of many keys.
//
// A job's selection is fixed when it starts (JobStore::CreateJob). The engine
// claims items in selection order, in batches, and delivers them through a
// Dispatcher, which the agent implements: reflow does not know the agent.
// Within a key, recorded order is kept; across keys, up to `concurrency`
// deliveries run in parallel. Items are marked in flight (committed) before
// delivery and done after their copies are committed, so after a crash only
// the items in flight are delivered again, and those are marked.
//
// In a fleet (several processes on one journal) every live instance of the
// job's service runs it: each claims items with a lease (JobStore::ClaimItems)
// and renews it while delivering; the items of an instance that dies are
// claimed again by the others once its lease runs out or the registry marks
// it gone. The job completes when every item is done, whoever did it.
//
// Thread-safe. Each running job has its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"

namespace reprise {

// How one replayed delivery went.
struct DispatchResult {
  std::string copy_id;  // the new record linked to the original ("" if none was made)
  Outcome outcome = Outcome::kOk;
  std::string error;
  bool changed = false;  // re-derive: the key's output changed
};

// What the engine needs from the process it replays into.
class REPRISE_EXPORT Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // Replays `original` as a new record with origin = original.id and job =
  // `job_id`: into its channel's handler (self) or through its channel's
  // sender (downstream). `redelivery` marks an item that a previous run
  // dispatched (its copy was recorded) and then crashed: it may have been
  // delivered already.
  virtual DispatchResult Redeliver(const Message& original, ReflowTarget target,
                                   const std::string& job_id, bool redelivery) = 0;
  // Re-derives `key` with the deriver `deriver` for job `job_id`: failed
  // when the deriver fails, ok otherwise, changed (with the new output's id
  // as copy_id unless `dry_run`) when the output differs from the last one.
  virtual DispatchResult Rederive(const std::string& deriver, const std::string& key,
                                  const std::string& job_id, bool dry_run) = 0;
  // Waits until every record made so far is committed to the journal.
  virtual Status Flush() = 0;
};

struct EngineOptions {
  std::string instance;          // claims items and is recorded on jobs this engine starts
  // Jobs of this service (and jobs without one) are shared with the other
  // live instances of the service on the same journal.
  std::string service;
  size_t batch_size = 1024;      // items claimed per transaction, at most
  size_t batch_bytes = 16u << 20;  // payload bytes claimed per transaction, at most (one item at least)
  size_t max_running_jobs = 4;   // more are refused with RESOURCE_EXHAUSTED
  // Claimed items stay this instance's for `lease` unless renewed; renewed
  // every `tick`, which is also how soon a cancel made elsewhere is seen.
  std::chrono::milliseconds lease{10000};
  std::chrono::milliseconds tick{250};
  // Told, one line each, when a job starts or resumes here and when it ends
  // (the agent's log); may be empty.
  std::function<void(const std::string& line)> log;
  // A dry run's pin (JobPlan::pin) is honoured this long; an older one is
  // refused: the operator confirmed figures that are stale by then.
  std::chrono::seconds pin_lifetime{600};
};

// A job's state with live figures.
struct REPRISE_EXPORT JobProgress {
  JobRecord job;
  double rate = 0;         // deliveries per second, recent
  double eta_seconds = 0;  // 0 when unknown
  // This instance's part of the job's rate (the rate divided among the live
  // instances of its service); 0 when unlimited or not running here.
  double rate_share = 0;
};

class REPRISE_EXPORT ReflowEngine {
 public:
  // `journal` and `dispatcher` must outlive the engine.
  ReflowEngine(Journal* journal, Dispatcher* dispatcher, EngineOptions options);
  ~ReflowEngine();  // stops running jobs (they stay resumable)
  ReflowEngine(const ReflowEngine&) = delete;
  ReflowEngine& operator=(const ReflowEngine&) = delete;

  // What `spec` would replay; writes nothing. The selection is pinned at
  // this moment (messages recorded from now on are not in it) and the plan
  // carries a token, `pin`, for Start.
  StatusOr<JobPlan> DryRun(const JobSpec& spec);
  // Validates `spec`, fixes the selection, and starts the job. With
  // spec.pin (a DryRun's, for the same spec, younger than pin_lifetime) the
  // job replays exactly what that dry run counted, or is refused
  // (FAILED_PRECONDITION) when that is no longer what matches.
  StatusOr<JobRecord> Start(const JobSpec& spec);
  // Joins the unfinished jobs of this service that do not run here yet:
  // jobs left running by a previous process, and jobs other instances of a
  // fleet started. Returns how many it launched. Call it periodically.
  StatusOr<size_t> ResumeUnfinished();
  // Asks a job to stop; it does within a second. Returns the job.
  StatusOr<JobRecord> Cancel(const std::string& id, const std::string& reason);
  StatusOr<JobProgress> Progress(const std::string& id);
  // Makes every running job read its state from the journal now rather than
  // at its next tick: a change feed heard that a job changed elsewhere.
  void Poke();
  StatusOr<std::vector<JobRecord>> List(uint32_t limit);

 private:
  struct Running;
  void Run(std::shared_ptr<Running> job);
  void RunBatches(Running& job);
  void KeepLease(Running& job);  // the job's lease keeper, every options_.tick
  // Counts the live instances of the job's service: this instance's part
  // of the job's keys and rate.
  void CountLive(Running& job);
  void Launch(JobRecord record);
  void ReapFinished();  // joins jobs whose Run returned; needs mu_

  Journal* const journal_;
  Dispatcher* const dispatcher_;
  const EngineOptions options_;

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Running>> running_;  // guarded by mu_
  bool stopping_ = false;                                     // guarded by mu_
};

}  // namespace reprise
