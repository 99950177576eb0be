// Retention: a background task that removes the journal's oldest messages
// by the policy in AgentOptions (retain_for, retain_bytes), in small steps
// so that the writer never waits long. Internal to agent/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "logger.h"
#include "reprise/agent/agent.h"
#include "reprise/store/journal.h"

namespace reprise {

// The policy in words: "keep 30d", "keep 1h, at most 1048576 bytes".
std::string RetentionPolicy(const AgentOptions& options);

// `status` from reading message `id`, but a NOT_FOUND for an id older than
// the oldest message the journal keeps says that retention removed it.
Status RemovedByRetention(Journal& journal, const AgentOptions& options, std::string_view id,
                          Status status);

// Thread-safe. Its thread runs once at start, then every retention_every,
// until destroyed.
class Retention {
 public:
  // `journal` and `log` must outlive the Retention.
  Retention(Journal* journal, const AgentOptions& options, const Logger* log);
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  RetentionStats Stats() const;

 private:
  void Loop();
  void RunOnce();
  // Why a run must not remove anything now ("" when it may).
  std::string MustWait();
  // Waits `d` unless stopping; false when stopping.
  bool Pause(std::chrono::milliseconds d);

  Journal* const journal_;
  const Logger* const log_;
  const std::string policy_;  // RetentionPolicy, for the log
  const std::chrono::seconds retain_for_;
  const uint64_t retain_bytes_;
  const std::chrono::milliseconds every_;
  const size_t step_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  RetentionStats stats_;   // guarded by mu_
  std::thread thread_;
};

}  // namespace reprise
