// The jobs this instance runs (reflow, re-derive, migration) and when it
// takes up unfinished ones: those a previous process left, once the host has
// had time to register its handlers; then, at each fleet heartbeat, those
// that other instances of the service started. Internal to agent/.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "reprise/reflow/engine.h"

namespace reprise {

// Thread-safe, but for StopWaiting, which the owner calls once as it stops.
class Jobs {
 public:
  // Resumes the unfinished jobs `resume_after` from now unless Resume() was
  // called before. `journal` and `dispatcher` must outlive the Jobs.
  Jobs(Journal* journal, Dispatcher* dispatcher, EngineOptions options,
       std::chrono::milliseconds resume_after);
  // Stops waiting to resume, then the engine: running jobs stop, resumable.
  ~Jobs();
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;

  ReflowEngine& engine() { return engine_; }

  // Agent::ResumeJobs: the first call resumes the unfinished jobs, later ones
  // do nothing.
  Status Resume();
  // After a heartbeat: joins the jobs other instances of the service started
  // (or that dead ones left), once this instance resumed its own.
  void JoinOthers();
  // The delayed resume no longer happens (the agent stops).
  void StopWaiting();

 private:
  ReflowEngine engine_;  // destroyed after the resume thread stopped
  std::once_flag resumed_;
  std::atomic<bool> jobs_resumed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;  // guarded by mu_
  std::thread resume_thread_;
};

}  // namespace reprise
