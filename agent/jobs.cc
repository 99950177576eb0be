#include "jobs.h"

#include <cstdio>

namespace reprise {

Jobs::Jobs(Journal* journal, Dispatcher* dispatcher, EngineOptions options,
           std::chrono::milliseconds resume_after)
    : engine_(journal, dispatcher, std::move(options)) {
  resume_thread_ = std::thread([this, resume_after] {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, resume_after, [this] { return closing_; });
    bool closing = closing_;
    lock.unlock();
    if (!closing) (void)Resume();
  });
}

Jobs::~Jobs() { StopWaiting(); }

void Jobs::StopWaiting() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (resume_thread_.joinable()) resume_thread_.join();
}

Status Jobs::Resume() {
  Status result;
  std::call_once(resumed_, [&] {
    auto n = engine_.ResumeUnfinished();
    jobs_resumed_ = true;
    if (!n.ok()) {
      result = n.status().WithPrefix("resuming unfinished jobs");
      std::fprintf(stderr, "reprise: %s\n", result.ToString().c_str());
    } else if (*n > 0) {
      std::fprintf(stderr, "reprise: resumed %zu unfinished job(s)\n", *n);
    }
  });
  return result;
}

void Jobs::JoinOthers() {
  if (jobs_resumed_) (void)engine_.ResumeUnfinished();
}

}  // namespace reprise
