// Jobs as the journal stores them: a reflow, re-derive or migration job, its
// fixed selection ("items"), and progress.
//
// A reflow's items are messages. A re-derive's items are keys: one item per
// key, carried by the newest message of that key the selection matched.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/store/journal.h"

namespace reprise {

enum class ReflowTarget : int {
  kSelf = 1,        // inbound messages, into their channel's handler
  kDownstream = 2,  // outbound messages, through their channel's sender
};
REPRISE_EXPORT std::string_view ReflowTargetName(ReflowTarget t);  // "self" / "downstream"
REPRISE_EXPORT std::optional<ReflowTarget> ParseReflowTarget(std::string_view s);

enum class JobState : int {
  kRunning = 1,
  kCancelling = 2,
  kCancelled = 3,
  kCompleted = 4,
  kStopped = 5,  // ended early: max_failures exceeded
};
REPRISE_EXPORT std::string_view JobStateName(JobState s);  // "running", "cancelling", ...
inline bool IsFinal(JobState s) {
  return s == JobState::kCancelled || s == JobState::kCompleted || s == JobState::kStopped;
}

inline constexpr std::string_view kReflowJob = "reflow";
inline constexpr std::string_view kRederiveJob = "rederive";
// A migration is a reflow (to self) of the migrated keys' inputs.
inline constexpr std::string_view kMigrationJob = "migration";

// What an operator asked for.
struct REPRISE_EXPORT JobSpec {
  std::string kind = std::string(kReflowJob);  // kReflowJob, kRederiveJob or kMigrationJob
  std::string filter;
  ReflowTarget target = ReflowTarget::kSelf;
  double rate = 0;            // messages per second; 0: unlimited
  uint32_t concurrency = 1;   // keys in parallel
  uint64_t max_failures = 0;  // 0: never stop for failures
  uint64_t limit = 0;         // 0: every selected message
  std::string reason;
  std::string created_by;
  // The service whose live instances share the job (set by the agent; ""
  // for jobs of journals from before fleets: any instance runs them).
  std::string service;
  // Re-derive jobs: the deriver to run per key, and whether to record and
  // send changed outputs (false) or only compare (true).
  std::string deriver;
  bool dry_run = false;
  // Narrow the selection further (migrations use these; not stored with the
  // job, which keeps its fixed selection instead):
  std::vector<std::string> keys;  // only messages of these keys, when not empty
  bool originals_only = false;    // skip reflowed copies (origin set)
  // A reflow leaves resolved messages out (their copy already ended ok)
  // unless this is set. Migrations and re-derives select regardless.
  bool include_resolved = false;
  // Only the newest message of each channel, key and direction among those
  // the filter matches (the filter field `latest`): for state-carrying
  // channels, where replaying an older message would set a receiver back.
  bool latest_per_key = false;
  // A pinned selection (what a dry run counted): only messages whose id is
  // below `before_id`, and CreateJob fails, creating nothing, unless
  // exactly `expect_total` match.
  std::string before_id;
  std::optional<uint64_t> expect_total;
  // The token a dry run issued (JobPlan::pin): the reflow engine's Start
  // pins the selection to what that dry run counted.
  std::string pin;
};

struct JobRecord {
  std::string id;  // "17"
  JobSpec spec;
  JobState state = JobState::kRunning;
  std::string reason;    // why it ended early
  std::string instance;  // agent instance that runs it
  uint64_t total = 0;
  uint64_t done = 0;
  uint64_t failed = 0;
  uint64_t redelivered = 0;
  uint64_t changed = 0;  // re-derive: keys whose output changed
  int64_t created_at_us = 0;
  int64_t finished_at_us = 0;
  // Re-derive: the first keys whose output changed, in selection order (at
  // most kChangedKeysSample; GetJob fills it).
  std::vector<std::string> changed_keys;
};
inline constexpr size_t kChangedKeysSample = 20;

// One selected message, claimed for delivery.
struct JobItem {
  int64_t seq = 0;           // position in the job's selection (oldest first)
  Message message;           // the original, with payload
  bool redelivery = false;   // it may have been dispatched before an instance died or crashed
};

// Who claims items, how many, and for how long. An item stays claimed until
// its lease runs out unless the claimer renews the lease (RenewLease) or
// completes or releases the item.
struct ItemClaim {
  std::string instance;
  size_t max = 256;
  // A claim stops once its items' payloads reach this many bytes (it takes
  // at least one item): what a batch holds in memory stays bounded however
  // large the payloads.
  size_t max_bytes = 16u << 20;
  // How many live instances share the job. A key's items go to one instance
  // at a time, so a claim takes items of at most 1/share of the claimable
  // keys it finds (at least one key) and leaves the rest to the others; a
  // lone instance (1) takes a whole batch whatever the keys.
  size_t share = 1;
  std::chrono::milliseconds lease{10000};
};

struct ItemResult {
  int64_t seq = 0;
  std::string copy_id;
  Outcome outcome = Outcome::kOk;
  bool redelivery = false;
  bool changed = false;  // re-derive: the key's output changed
};

// What a dry run reports. Computing it writes nothing.
struct JobPlan {
  uint64_t messages = 0;
  uint64_t keys = 0;
  uint64_t excluded = 0;  // matched the filter but have the other direction
  uint64_t resolved = 0;  // matched the filter but resolved: left out (JobSpec::include_resolved)
  uint64_t older = 0;     // matched the filter but a newer message of their key exists (latest_per_key)
  std::vector<CountRow> by_channel;
  std::vector<CountRow> by_outcome;
  std::vector<Message> sample;  // oldest first, without payloads
  // Set by the reflow engine: pass it as JobSpec::pin to replay exactly
  // these `messages`.
  std::string pin;
};

// Job storage, part of the journal. Thread-safe like Journal.
class REPRISE_EXPORT JobStore {
 public:
  virtual ~JobStore() = default;

  // What a job with `spec` would select now.
  virtual StatusOr<JobPlan> PlanJob(const JobSpec& spec) = 0;
  // Creates a job and fixes its selection in the same transaction: the
  // messages matching spec.filter with the target's direction that exist
  // now, oldest first, at most spec.limit (a re-derive: one item per key of
  // the messages matching spec.filter, in either direction, each carried by
  // that key's newest match). Later messages never join.
  virtual StatusOr<JobRecord> CreateJob(const JobSpec& spec, const std::string& instance) = 0;
  virtual StatusOr<JobRecord> GetJob(std::string_view id) = 0;
  virtual StatusOr<std::vector<JobRecord>> ListJobs(uint32_t limit) = 0;
  // Jobs in state running or cancelling (to resume after a restart, and for
  // every instance of a fleet to join).
  virtual StatusOr<std::vector<JobRecord>> UnfinishedJobs() = 0;

  // Claims up to claim.max items for claim.instance, in selection order, in
  // one write transaction (committed before returning), with their messages.
  // Per key, order is kept: an item is claimed only when no earlier item of
  // its key is in flight elsewhere. Items in flight whose lease ran out, or
  // whose claimer is not a live instance in the registry (it died), are
  // settled first: one whose copy was recorded with a final outcome is
  // completed; the others are claimed again, marked redelivery when a copy
  // of theirs was recorded (it may have been dispatched: copies are recorded
  // before their dispatch), unmarked when none was. A mark stays once set.
  virtual StatusOr<std::vector<JobItem>> ClaimItems(std::string_view job_id,
                                                    const ItemClaim& claim) = 0;
  // Reads ahead, for a lone instance (claim.share 1), what its next claim
  // will take once the items it holds in flight are done, with their
  // messages, while it still delivers them. Claims nothing, writes nothing.
  // A backend that does not read ahead, or a fleet member, gets no items.
  virtual StatusOr<std::vector<JobItem>> PeekItems(std::string_view job_id, const ItemClaim& claim) {
    (void)job_id;
    (void)claim;
    return std::vector<JobItem>{};
  }
  // ClaimItems, which first takes the longest prefix of `peeked` (from
  // PeekItems) that it would select now, without reading their messages
  // again; when nothing of it is left, it claims as ClaimItems does.
  virtual StatusOr<std::vector<JobItem>> ClaimPeekedItems(std::string_view job_id, const ItemClaim& claim,
                                                          std::vector<JobItem> peeked) {
    (void)peeked;
    return ClaimItems(job_id, claim);
  }
  // Records how items claimed by `instance` ended and adds them to the job's
  // counters, in one transaction. Items that are no longer this instance's
  // (its lease ran out and another instance took them) are left alone.
  virtual Status CompleteItems(std::string_view job_id, std::string_view instance,
                               const std::vector<ItemResult>& results) = 0;
  // Returns items claimed by `instance` but not delivered to pending (after a
  // cancel or a clean stop).
  virtual Status ReleaseItems(std::string_view job_id, std::string_view instance,
                              const std::vector<int64_t>& seqs) = 0;
  // Extends the lease of every item `instance` holds in the job to now +
  // `lease`, and returns the job as it stands (state, fleet-wide counters).
  virtual StatusOr<JobRecord> RenewLease(std::string_view job_id, std::string_view instance,
                                         std::chrono::milliseconds lease) = 0;
  // Sets the state. A final state (cancelled, completed, stopped) is never
  // changed again: setting another one is a no-op.
  virtual Status SetJobState(std::string_view id, JobState state, std::string_view reason) = 0;
};

}  // namespace reprise
