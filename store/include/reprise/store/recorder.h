// Recorder: takes records off the host's hot path.
//
// Record() and RecordOutcome() put the record on a bounded in-memory queue and
// return; one background writer drains the queue into the Journal in group
// commits (one transaction per batch). What a call promises depends on the
// durability mode:
//
//   async    returns once queued. A crash loses at most what was queued and
//            not yet committed: at most `max_queue_bytes`; in steady state one
//            group commit's worth (the writer commits as soon as it can).
//   process  returns once committed to the journal (survives kill -9).
//   power    returns once committed and fsynced (survives power loss).
//
// When the journal falls behind and the queue is full, the overload policy
// decides: `block` the caller until there is room, or `drop` the record and
// count it. Memory stays bounded by `max_queue_bytes` either way: the bound
// covers the queue's slabs (the serialized records, in use or spare) and the
// writer's batch while it is written.
//
// Thread-safe: any number of threads may record concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/store/journal.h"

namespace reprise {

struct RecorderOptions {
  // The recorder's own: the agent maps its public settings (agent.h) to them.
  enum class Durability { kAsync, kProcess, kPower };
  enum class OverloadPolicy { kBlock, kDrop };
  Durability durability = Durability::kAsync;
  OverloadPolicy overload = OverloadPolicy::kBlock;
  // Bound on the memory the recorder holds for records: the queue's slabs
  // (in use and spare) plus the writer's batch being written. See Recorder.
  size_t max_queue_bytes = 64u << 20;
  size_t max_batch_records = 4096;     // per group commit
};

struct REPRISE_EXPORT RecorderStats {
  uint64_t recorded = 0;     // accepted onto the queue
  uint64_t committed = 0;    // written to the journal
  uint64_t dropped = 0;      // refused by the drop policy
  uint64_t failed_writes = 0;  // group commits the journal refused (retried)
  uint64_t rejected = 0;     // records the journal refused for good (counted, logged)
  uint64_t batches = 0;
  size_t queued = 0;         // records waiting, including the batch being written
  size_t queued_bytes = 0;   // their serialized size
  size_t held_bytes = 0;     // queue memory held (slabs in use and spare): <= the bound,
                             // but for one record larger than the bound in an empty queue
                             // (with, until the writer's next pass, the last tail slab)
  // Health. A fault is a run of failed writes; it clears at the next write
  // that succeeds. Times are zero (the epoch) when they never happened.
  std::string last_error;    // the current fault's latest error, "" when healthy
  std::chrono::system_clock::time_point failing_since{};  // when the current fault began
  std::string last_fault;    // the latest write error, kept after the fault clears
  std::chrono::system_clock::time_point last_fault_at{};
  std::chrono::system_clock::time_point recovered_at{};   // when the last fault cleared
  bool healthy() const { return last_error.empty(); }
};

// A message by reference: Record copies its bytes straight into the queue's
// memory (no string per field, no allocation per record on the caller's
// thread). The viewed strings need only live for the call.
struct REPRISE_EXPORT MessageView {
  std::string_view id, channel, key, correlation_id, causation_id, payload, content_type, error,
      origin_id, job_id, flow_variant;
  const Headers* headers = nullptr;
  Direction direction = Direction::kIn;
  Outcome outcome = Outcome::kPending;
  uint32_t attempt = 1;
  int64_t recorded_at_us = 0;
  uint64_t payload_size = 0;

  static MessageView Of(const Message& m);
};

class REPRISE_EXPORT Recorder {
 public:
  // `journal` must outlive the Recorder.
  Recorder(Journal* journal, RecorderOptions options);
  ~Recorder();  // drains the queue, then stops the writer
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Queues a batch's messages, then its outcomes, in order, and in
  // process/power durability waits for their commit. RESOURCE_EXHAUSTED when
  // dropped under the drop policy (the whole batch is dropped); UNAVAILABLE
  // when a synchronous commit failed (the records stay queued and are retried).
  Status Submit(const WriteBatch& batch);
  Status Record(const Message& message);
  Status Record(const MessageView& message);
  Status RecordOutcome(const OutcomeUpdate& update);
  // Waits until everything queued before the call is committed, or refused
  // by the journal for good (counted in `rejected`); an error means some of
  // it is still waiting for the journal.
  Status Flush();

  // Positions in the recording order, for callers that act once records are
  // in the journal (a transport acknowledging a delivery: docs/transports.md).
  // Every record queued before Mark() returns is at or below it. Once
  // CommittedMark() >= m, each of them is committed, or refused by the
  // journal for good (counted in `rejected`); records lost at shutdown with
  // the journal down never count, so nothing is acknowledged for them.
  uint64_t Mark() const;
  uint64_t CommittedMark() const { return durable_ticket_.load(std::memory_order_acquire); }
  // Waits until CommittedMark() >= mark: false when `timeout` passed first,
  // or the writer stopped without reaching it.
  bool WaitCommitted(uint64_t mark, std::chrono::milliseconds timeout) const;

  RecorderStats Stats() const;
  const RecorderOptions& options() const { return options_; }

 private:
  // The queue's memory: slabs (mapped pages, so that freeing one returns it
  // to the system) holding serialized records back to back. A record costs
  // its bytes plus a fixed header; the whole slab counts against the bound.
  struct Slab {
    char* data = nullptr;
    size_t size = 0;
    size_t used = 0;      // bytes written by producers
    size_t consumed = 0;  // bytes the writer has taken (decoded or decoding)
    explicit Slab(size_t bytes);
    ~Slab();
    Slab(const Slab&) = delete;
    Slab& operator=(const Slab&) = delete;
  };
  // Room for `bytes` contiguous bytes at the queue's tail (waiting or refusing
  // per the overload policy), marked as a record being written: the writer
  // waits for its size. The caller writes the records (Serialize) and counts
  // them (Queued, or as Record does).
  StatusOr<char*> Reserve(std::unique_lock<std::mutex>& lock, size_t bytes, size_t messages);
  Status Queued(std::unique_lock<std::mutex>& lock, size_t items, size_t bytes);
  // Wakes the synchronous callers waiting in WaitFor: a commit, a failure
  // or the writer's end.
  void CommitEvent();
  // Waits until `ticket` is done. With `own_records` (a synchronous Record)
  // the caller's records end at `ticket`, so a refusal or loss in their
  // chunk is theirs to hear; Flush only waits, since refused records are
  // final (counted in `rejected`) and waiting again would not change them.
  Status WaitFor(std::unique_lock<std::mutex>& lock, uint64_t ticket, bool own_records);
  void WriterLoop();
  // Records are queued that the writer has not taken; needs mu_.
  bool HasWork() const;
  // Counts a synchronous caller's records as queued; true when the writer
  // needs waking for them. Needs mu_.
  bool SyncQueued();
  // Writes `batch` (folding its outcomes into its messages) as one group
  // commit covering `items` records from `first_ticket` on, then clears it.
  void WriteChunk(WriteBatch& batch, size_t items, size_t record_bytes, uint64_t first_ticket);
  // Hands a slab the writer has decoded back to the producers (or frees it).
  void Release(std::unique_ptr<Slab> slab);
  // Writes one batch, retrying transient failures. OK when every record was written; otherwise why
  // not (some refused by the journal, or all lost at shutdown).
  Status WriteWithRetry(WriteBatch& batch);
  // Health bookkeeping; called with mu_ held.
  void NoteFault(std::string error);
  void NoteWritten();

  Journal* const journal_;
  const RecorderOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // writer waits for records
  std::condition_variable room_cv_;   // blocked producers wait for room
  // The bound, split: the writer's batch (decoded Messages) gets a quarter,
  // the slabs the rest. Fixed at construction.
  const size_t slab_size_;
  const size_t batch_budget_;
  const size_t slab_budget_;
  // Emptied slabs kept for reuse (a quarter of the slabs' share, at least 4):
  // a new slab costs a system call and fresh pages on the host's thread.
  const size_t max_spare_;
  // Guarded by mu_. Producers append into the tail slab; the writer takes
  // the slabs before it whole, and the tail's new records in place.
  std::vector<std::unique_ptr<Slab>> queue_;
  std::vector<std::unique_ptr<Slab>> spare_;  // emptied slabs, at most max_spare_
  size_t held_bytes_ = 0;             // guarded by mu_: all slabs' sizes (queue, writer's, spare)
  bool writer_waiting_ = false;       // guarded by mu_: the writer waits for work (polling or asleep)
  bool writer_asleep_ = false;        // guarded by mu_: it waits until woken, after a quiet spell
  // Group commit in process and power durability, guarded by mu_: the
  // synchronous callers queued since the writer last took the queue, how
  // many the last group had, and whether the writer waits for that many.
  size_t sync_queued_ = 0;
  size_t group_target_ = 0;
  bool writer_gathering_ = false;
  size_t queued_bytes_ = 0;           // guarded by mu_: serialized bytes admitted and not yet committed
  uint64_t next_ticket_ = 1;          // guarded by mu_
  // What synchronous callers wait for, read without mu_ (written under it):
  // every change bumps commit_events_, on which they wait (CommitEvent).
  std::atomic<uint64_t> committed_ticket_{0};  // all tickets <= are done
  // All tickets <= are committed or refused for good (not lost): CommittedMark.
  std::atomic<uint64_t> durable_ticket_{0};
  std::atomic<uint64_t> write_failures_{0};    // waiters see failures after they began
  std::atomic<uint64_t> last_unwritten_{0};    // the last ticket of the latest unwritten chunk
  std::atomic<bool> writer_done_{false};
  mutable std::atomic<uint32_t> commit_events_{0};
  // Ticket ranges done but not (all) written: the journal refused a record of
  // the chunk, or the recorder stopped with the journal down. The most recent
  // few, for synchronous callers that look after the chunk was done.
  struct Unwritten {
    uint64_t first = 0, last = 0;
    Status why;
  };
  std::deque<Unwritten> unwritten_;   // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  RecorderStats stats_;               // guarded by mu_
  // The writer's own: messages of the last batch, reused with their strings'
  // memory (no more than a batch holds; freed after a quiet spell).
  std::vector<Message> spare_messages_;
  std::thread writer_;
};

}  // namespace reprise
