// The agent's flows: the pure per-key resolution, and the registry that keeps
// an in-memory snapshot of every flow this process declared, fresh with the
// journal. Internal to agent/. See docs/flows.md.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "reprise/store/flow.h"

namespace reprise {

// Rollout buckets: a key is in the rollout when its bucket is below
// percent * 100, so percentages have two decimals of resolution.
inline constexpr uint32_t kFlowBuckets = 10000;

// FNV-1a 64 of flow name, a NUL byte, then the key. Stable across processes,
// builds and platforms (unlike std::hash), so a key gets the same variant
// everywhere. Hashing the flow name too keeps two flows' rollouts independent.
uint64_t FlowHash(std::string_view flow, std::string_view key);
inline uint32_t FlowBucket(std::string_view flow, std::string_view key) {
  return static_cast<uint32_t>(FlowHash(flow, key) % kFlowBuckets);
}

// What one flow resolves from: the stored record and all its assignments.
struct FlowSnapshot {
  FlowRecord record;
  std::map<std::string, std::string, std::less<>> assignments;
};

// The variant for `key`: its explicit assignment, else the rollout variant
// when the key's bucket falls within the percentage, else the default.
std::string ResolveFlow(const FlowSnapshot& flow, std::string_view key);

// Flows this process declared, with snapshots that serve lookups without
// touching the journal. Changes made through Set apply at once; changes made
// by other processes (or any writer of the journal) are picked up by a
// background poll of the journal's flow change counter, or at once when the
// journal's change feed (PostgreSQL) pokes the registry.
// Thread-safe: Resolve takes a shared lock only.
class FlowRegistry {
 public:
  FlowRegistry(FlowStore* store, std::chrono::milliseconds poll_every);
  ~FlowRegistry();  // stops the poll
  FlowRegistry(const FlowRegistry&) = delete;
  FlowRegistry& operator=(const FlowRegistry&) = delete;

  // Declares the flow in the journal and loads its snapshot.
  Status Declare(std::string_view name, const std::vector<std::string>& variants,
                 std::string_view default_variant);
  // The variant for `key`; "" when this process did not declare the flow.
  std::string Resolve(std::string_view name, std::string_view key) const;
  // Applies an operator change and refreshes the snapshot before returning,
  // so the next message handled here sees it.
  StatusOr<FlowRecord> Set(const FlowChange& change);
  // Reloads every declared flow when the journal's change counter moved.
  Status ReloadIfChanged();
  // Runs the poll now rather than at its next turn: a change feed heard of
  // a change (or reconnected). Returns at once; the poll thread reloads.
  void Poke();
  std::vector<std::string> Names() const;

 private:
  Status Reload(const std::string& name);
  void Poll();

  FlowStore* const store_;
  const std::chrono::milliseconds poll_every_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const FlowSnapshot>, std::less<>> flows_;  // guarded by mu_
  std::atomic<int64_t> seen_counter_{-1};

  std::mutex poll_mu_;  // serializes reloads, and guards closing_
  std::condition_variable poll_cv_;
  bool closing_ = false;
  bool poked_ = false;  // guarded by poll_mu_
  std::thread poll_thread_;
};

}  // namespace reprise
