#include "reprise/store/recorder.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace reprise {
namespace {

// What a string costs the heap: nothing while it fits the string itself
// (short-string optimization), else its capacity rounded up to the
// allocator's 16-byte chunks plus the chunk header. The bound is on memory,
// so the estimate counts what malloc hands out, not just the characters.
size_t HeapBytes(const std::string& s) {
  if (s.capacity() <= 15) return 0;
  return ((s.capacity() + 1 + 15) & ~size_t{15}) + 16;
}

// A queued record's memory: its slot in the queue (the variant holding it)
// and its strings on the heap.
size_t EstimateBytes(const Message& m) {
  size_t n = sizeof(std::variant<Message, OutcomeUpdate>) + sizeof(size_t) + HeapBytes(m.id) +
             HeapBytes(m.channel) + HeapBytes(m.key) + HeapBytes(m.correlation_id) +
             HeapBytes(m.causation_id) + HeapBytes(m.payload) + HeapBytes(m.content_type) +
             HeapBytes(m.error) + HeapBytes(m.origin_id) + HeapBytes(m.job_id) +
             HeapBytes(m.flow_variant);
  // A map node: the pair, three pointers and a color, plus the chunk header.
  for (const auto& [k, v] : m.headers) n += 96 + HeapBytes(k) + HeapBytes(v);
  return n;
}

size_t EstimateBytes(const OutcomeUpdate& o) {
  return sizeof(std::variant<Message, OutcomeUpdate>) + sizeof(size_t) + HeapBytes(o.id) +
         HeapBytes(o.error) + HeapBytes(o.flow_variant);
}

}  // namespace

std::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kAsync: return "async";
    case Durability::kProcess: return "process";
    case Durability::kPower: return "power";
  }
  return "async";
}

std::optional<Durability> ParseDurability(std::string_view s) {
  if (s == "async") return Durability::kAsync;
  if (s == "process") return Durability::kProcess;
  if (s == "power") return Durability::kPower;
  return std::nullopt;
}

std::string_view OverloadPolicyName(OverloadPolicy p) {
  return p == OverloadPolicy::kDrop ? "drop" : "block";
}

std::optional<OverloadPolicy> ParseOverloadPolicy(std::string_view s) {
  if (s == "block") return OverloadPolicy::kBlock;
  if (s == "drop") return OverloadPolicy::kDrop;
  return std::nullopt;
}

Recorder::Recorder(Journal* journal, RecorderOptions options)
    : journal_(journal), options_(options), writer_([this] { WriterLoop(); }) {}

Recorder::~Recorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  room_cv_.notify_all();
  writer_.join();
}

// The host's thread: estimate, one lock, an append into reused capacity,
// and no system call while the writer is busy writing.
Status Recorder::Record(Message message) {
  const size_t bytes = EstimateBytes(message);
  std::unique_lock<std::mutex> lock(mu_);
  REPRISE_RETURN_IF_ERROR(Admit(lock, bytes, 1));
  Push(Item{std::move(message), bytes});
  ++stats_.recorded;
  return Queued(lock, 1, bytes);
}

Status Recorder::RecordOutcome(OutcomeUpdate update) {
  const size_t bytes = EstimateBytes(update);
  std::unique_lock<std::mutex> lock(mu_);
  REPRISE_RETURN_IF_ERROR(Admit(lock, bytes, 0));
  Push(Item{std::move(update), bytes});
  return Queued(lock, 1, bytes);
}

Status Recorder::Submit(WriteBatch batch) {
  if (batch.empty()) return Status::Ok();
  size_t bytes = 0;
  for (const auto& m : batch.messages) bytes += EstimateBytes(m);
  for (const auto& o : batch.outcomes) bytes += EstimateBytes(o);

  std::unique_lock<std::mutex> lock(mu_);
  REPRISE_RETURN_IF_ERROR(Admit(lock, bytes, batch.messages.size()));
  for (auto& m : batch.messages) {
    size_t b = EstimateBytes(m);
    Push(Item{std::move(m), b});
    ++stats_.recorded;
  }
  for (auto& o : batch.outcomes) {
    size_t b = EstimateBytes(o);
    Push(Item{std::move(o), b});
  }
  return Queued(lock, batch.messages.size() + batch.outcomes.size(), bytes);
}

void Recorder::Push(Item item) {
  if (queue_.empty() || queue_.back()->size() == kBlockItems) {
    std::unique_ptr<Block> block;
    if (!spare_.empty()) {
      block = std::move(spare_.back());
      spare_.pop_back();
    } else {
      block = std::make_unique<Block>();
      block->reserve(kBlockItems);
    }
    queue_.push_back(std::move(block));
  }
  queue_.back()->push_back(std::move(item));
}

Status Recorder::Admit(std::unique_lock<std::mutex>& lock, size_t bytes, size_t messages) {
  // A batch larger than the whole bound is still admitted into an empty queue,
  // so that it cannot wait forever.
  auto has_room = [&] { return queued_bytes_ + bytes <= options_.max_queue_bytes || queued_bytes_ == 0; };
  if (!has_room()) {
    if (options_.overload == OverloadPolicy::kDrop) {
      stats_.dropped += messages;
      return ResourceExhausted("journal queue is full (" + std::to_string(queued_bytes_) +
                               " bytes waiting, bound " + std::to_string(options_.max_queue_bytes) +
                               "); record dropped by the `drop` overload policy");
    }
    room_cv_.wait(lock, [&] { return has_room() || stopping_; });
  }
  if (stopping_) return Unavailable("the recorder is shutting down; record not accepted");
  return Status::Ok();
}

Status Recorder::Queued(std::unique_lock<std::mutex>& lock, size_t items, size_t bytes) {
  next_ticket_ += items;
  queued_bytes_ += bytes;
  // Waking the writer is a system call: only a writer that waits for work
  // needs it. While it writes, records pile up for its next pass unnoticed.
  if (writer_asleep_) work_cv_.notify_one();
  if (options_.durability == Durability::kAsync) return Status::Ok();
  return WaitFor(lock, next_ticket_ - 1);
}

Status Recorder::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  work_cv_.notify_one();
  return WaitFor(lock, next_ticket_ - 1);
}

Status Recorder::WaitFor(std::unique_lock<std::mutex>& lock, uint64_t ticket) {
  // A write that fails while we wait means the record is not committed yet:
  // say so now rather than hang until the journal recovers.
  const uint64_t failures_before = write_failures_;
  commit_cv_.wait(lock, [&] {
    return committed_ticket_ >= ticket || write_failures_ > failures_before || writer_done_;
  });
  if (committed_ticket_ >= ticket) return Status::Ok();
  return Unavailable("journal write failed: " + stats_.last_error +
                     "; the record is kept in memory and retried, but it is not committed yet");
}

RecorderStats Recorder::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  RecorderStats s = stats_;
  s.queued = static_cast<size_t>(next_ticket_ - 1 - committed_ticket_);
  s.queued_bytes = queued_bytes_;
  return s;
}

void Recorder::WriterLoop() {
  std::vector<std::unique_ptr<Block>> blocks;
  std::vector<Item*> chunk;
  chunk.reserve(options_.max_batch_records);
  while (true) {
    uint64_t ticket = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      writer_asleep_ = true;
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      writer_asleep_ = false;
      if (queue_.empty() && stopping_) break;
      // Everything queued, at once (a swap of block pointers): producers
      // never wait while the writer picks records one by one.
      blocks.swap(queue_);
      ticket = committed_ticket_ + 1;
    }
    for (auto& block : blocks) {
      for (Item& item : *block) {
        chunk.push_back(&item);
        if (chunk.size() == options_.max_batch_records) {
          WriteChunk(chunk, ticket);
          ticket += chunk.size();
          chunk.clear();
        }
      }
    }
    if (!chunk.empty()) {
      WriteChunk(chunk, ticket);
      chunk.clear();
    }
    // Emptied blocks go back to the producers; a few are kept, the rest
    // (after an overload burst) are freed.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& block : blocks) {
      if (spare_.size() >= kSpareBlocks) break;
      block->clear();
      spare_.push_back(std::move(block));
    }
    blocks.clear();
  }
  std::lock_guard<std::mutex> lock(mu_);
  writer_done_ = true;
  commit_cv_.notify_all();
}

void Recorder::NoteFault(std::string error) {
  const auto now = std::chrono::system_clock::now();
  if (stats_.last_error.empty()) stats_.failing_since = now;
  stats_.last_fault = error;
  stats_.last_fault_at = now;
  stats_.last_error = std::move(error);
}

void Recorder::NoteWritten() {
  if (stats_.last_error.empty()) return;
  stats_.last_error.clear();
  stats_.failing_since = {};
  stats_.recovered_at = std::chrono::system_clock::now();
}

void Recorder::WriteChunk(const std::vector<Item*>& chunk, uint64_t first_ticket) {
  // Group commit. An outcome for a message in the same batch is folded into
  // its insert: most Deliver calls then cost one row write, not two.
  WriteBatch batch;
  std::unordered_map<std::string_view, size_t> index;
  size_t bytes = 0;
  batch.messages.reserve(chunk.size());
  for (Item* item : chunk) {
    if (auto* m = std::get_if<Message>(&item->record)) batch.messages.push_back(std::move(*m));
  }
  for (size_t i = 0; i < batch.messages.size(); ++i) index[batch.messages[i].id] = i;
  for (Item* item : chunk) {
    bytes += item->bytes;
    auto* o = std::get_if<OutcomeUpdate>(&item->record);
    if (o == nullptr) continue;
    auto it = index.find(o->id);
    if (it != index.end()) {
      Message& m = batch.messages[it->second];
      m.outcome = o->outcome;
      m.error = std::move(o->error);
      if (!o->flow_variant.empty()) m.flow_variant = std::move(o->flow_variant);
    } else {
      batch.outcomes.push_back(std::move(*o));
    }
  }
  const size_t message_count = batch.messages.size();
  bool written = WriteWithRetry(batch);
  {
    std::lock_guard<std::mutex> lock(mu_);
    committed_ticket_ = first_ticket + chunk.size() - 1;
    queued_bytes_ -= bytes;
    if (written) {
      stats_.committed += message_count;
      ++stats_.batches;
    }
  }
  commit_cv_.notify_all();
  room_cv_.notify_all();
}

bool Recorder::WriteWithRetry(WriteBatch& batch) {
  const bool sync = options_.durability == Durability::kPower;
  auto backoff = std::chrono::milliseconds(20);
  int attempts_while_stopping = 0;
  while (true) {
    Status st = journal_->Write(batch, sync);
    if (st.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      NoteWritten();
      return true;
    }
    if (st.code() != StatusCode::kUnavailable) {
      // Not transient: find the records the journal refuses by writing them
      // one at a time, keep the rest.
      uint64_t rejected = 0;
      for (auto& m : batch.messages) {
        WriteBatch one;
        one.messages.push_back(std::move(m));
        if (!journal_->Write(one, sync).ok()) ++rejected;
      }
      for (auto& o : batch.outcomes) {
        WriteBatch one;
        one.outcomes.push_back(std::move(o));
        if (!journal_->Write(one, sync).ok()) ++rejected;
      }
      std::fprintf(stderr, "reprise: journal refused %llu record(s): %s\n",
                   static_cast<unsigned long long>(rejected), st.ToString().c_str());
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.rejected += rejected;
        ++stats_.failed_writes;
        NoteFault("journal refused " + std::to_string(rejected) + " record(s): " + st.ToString());
        // The journal took the others: the fault was in those records, not
        // in the journal, which stays healthy.
        if (rejected < batch.messages.size() + batch.outcomes.size()) NoteWritten();
        // Synchronous callers of this batch cannot tell whose record it was.
        if (rejected > 0) ++write_failures_;
      }
      commit_cv_.notify_all();
      return true;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.failed_writes;
      NoteFault(st.ToString());
      // Synchronous callers learn now that their records are not committed.
      ++write_failures_;
    }
    commit_cv_.notify_all();

    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_ && ++attempts_while_stopping > 3) {
      stats_.rejected += batch.messages.size();
      std::fprintf(stderr, "reprise: shutting down with the journal unavailable; %zu record(s) lost: %s\n",
                   batch.messages.size() + batch.outcomes.size(), st.ToString().c_str());
      return false;
    }
    // Transient (busy, disk full, I/O): wait and retry; the queue's bound
    // and the overload policy protect the host meanwhile.
    work_cv_.wait_for(lock, backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace reprise
