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
// count it. Memory stays bounded by `max_queue_bytes` either way.
//
// Thread-safe: any number of threads may record concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "reprise/store/journal.h"

namespace reprise {

enum class Durability { kAsync, kProcess, kPower };
enum class OverloadPolicy { kBlock, kDrop };

std::string_view DurabilityName(Durability d);
std::optional<Durability> ParseDurability(std::string_view s);
std::string_view OverloadPolicyName(OverloadPolicy p);
std::optional<OverloadPolicy> ParseOverloadPolicy(std::string_view s);

struct RecorderOptions {
  Durability durability = Durability::kAsync;
  OverloadPolicy overload = OverloadPolicy::kBlock;
  size_t max_queue_bytes = 64u << 20;  // bound on queued records' memory
  size_t max_batch_records = 4096;     // per group commit
};

struct RecorderStats {
  uint64_t recorded = 0;     // accepted onto the queue
  uint64_t committed = 0;    // written to the journal
  uint64_t dropped = 0;      // refused by the drop policy
  uint64_t failed_writes = 0;  // group commits the journal refused (retried)
  uint64_t rejected = 0;     // records the journal refused for good (counted, logged)
  uint64_t batches = 0;
  size_t queued = 0;         // records waiting, including the batch being written
  size_t queued_bytes = 0;
  // Health. A fault is a run of failed writes; it clears at the next write
  // that succeeds. Times are zero (the epoch) when they never happened.
  std::string last_error;    // the current fault's latest error, "" when healthy
  std::chrono::system_clock::time_point failing_since{};  // when the current fault began
  std::string last_fault;    // the latest write error, kept after the fault clears
  std::chrono::system_clock::time_point last_fault_at{};
  std::chrono::system_clock::time_point recovered_at{};   // when the last fault cleared
  bool healthy() const { return last_error.empty(); }
};

class Recorder {
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
  Status Submit(WriteBatch batch);
  Status Record(Message message);
  Status RecordOutcome(OutcomeUpdate update);
  // Waits until everything queued before the call is committed (or failed).
  Status Flush();

  RecorderStats Stats() const;
  const RecorderOptions& options() const { return options_; }

 private:
  struct Item {
    std::variant<Message, OutcomeUpdate> record;
    size_t bytes = 0;
  };
  // Admits `bytes` more (waiting or refusing per the overload policy); on
  // success the caller appends its items and calls Queued.
  // The queue is made of blocks of kBlockItems records; kSpareBlocks emptied
  // blocks are kept for reuse (about 0.5 MiB of slots), the rest are freed.
  using Block = std::vector<Item>;
  static constexpr size_t kBlockItems = 128;
  static constexpr size_t kSpareBlocks = 8;
  void Push(Item item);  // with mu_ held
  Status Admit(std::unique_lock<std::mutex>& lock, size_t bytes, size_t messages);
  Status Queued(std::unique_lock<std::mutex>& lock, size_t items, size_t bytes);
  Status WaitFor(std::unique_lock<std::mutex>& lock, uint64_t ticket);
  void WriterLoop();
  // Writes `chunk` as one group commit; `first_ticket` is chunk[0]'s.
  void WriteChunk(const std::vector<Item*>& chunk, uint64_t first_ticket);
  // Writes one batch, retrying transient failures; returns false if the
  // recorder is stopping and the batch could not be written.
  bool WriteWithRetry(WriteBatch& batch);
  // Health bookkeeping; called with mu_ held.
  void NoteFault(std::string error);
  void NoteWritten();

  Journal* const journal_;
  const RecorderOptions options_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // writer waits for records
  std::condition_variable room_cv_;   // blocked producers wait for room
  std::condition_variable commit_cv_; // synchronous callers wait for commits
  // Guarded by mu_. The queue is a list of fixed-size blocks: producers
  // append into reused capacity (no allocation per record, no reallocation
  // of a growing array), and the writer takes the whole list at once by
  // swapping it with its own.
  std::vector<std::unique_ptr<Block>> queue_;
  std::vector<std::unique_ptr<Block>> spare_;  // emptied blocks, at most kSpareBlocks
  bool writer_asleep_ = false;        // guarded by mu_: the writer waits for work; only then do producers notify
  size_t queued_bytes_ = 0;           // guarded by mu_: admitted and not yet committed
  uint64_t next_ticket_ = 1;          // guarded by mu_
  uint64_t committed_ticket_ = 0;     // guarded by mu_: all tickets <= are done
  uint64_t write_failures_ = 0;       // guarded by mu_: waiters see failures after they began
  bool stopping_ = false;             // guarded by mu_
  bool writer_done_ = false;          // guarded by mu_
  RecorderStats stats_;               // guarded by mu_
  std::thread writer_;
};

}  // namespace reprise
