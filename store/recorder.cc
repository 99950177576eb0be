#include "reprise/store/recorder.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

namespace reprise {
namespace {

size_t EstimateBytes(const Message& m) {
  size_t n = sizeof(Message) + m.id.size() + m.channel.size() + m.key.size() +
             m.correlation_id.size() + m.causation_id.size() + m.payload.size() +
             m.content_type.size() + m.error.size() + m.origin_id.size() + m.job_id.size() +
             m.flow_variant.size();
  for (const auto& [k, v] : m.headers) n += k.size() + v.size() + 64;
  return n;
}

size_t EstimateBytes(const OutcomeUpdate& o) {
  return sizeof(OutcomeUpdate) + o.id.size() + o.error.size() + o.flow_variant.size();
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

Status Recorder::Record(Message message) {
  WriteBatch b;
  b.messages.push_back(std::move(message));
  return Submit(std::move(b));
}

Status Recorder::RecordOutcome(OutcomeUpdate update) {
  WriteBatch b;
  b.outcomes.push_back(std::move(update));
  return Submit(std::move(b));
}

Status Recorder::Submit(WriteBatch batch) {
  if (batch.empty()) return Status::Ok();
  size_t bytes = 0;
  for (const auto& m : batch.messages) bytes += EstimateBytes(m);
  for (const auto& o : batch.outcomes) bytes += EstimateBytes(o);

  std::unique_lock<std::mutex> lock(mu_);
  // A batch larger than the whole bound is still admitted into an empty queue,
  // so that it cannot wait forever.
  auto has_room = [&] { return queued_bytes_ + bytes <= options_.max_queue_bytes || queued_bytes_ == 0; };
  if (!has_room()) {
    if (options_.overload == OverloadPolicy::kDrop) {
      stats_.dropped += batch.messages.size();
      return ResourceExhausted("journal queue is full (" + std::to_string(queued_bytes_) +
                               " bytes waiting, bound " + std::to_string(options_.max_queue_bytes) +
                               "); record dropped by the `drop` overload policy");
    }
    room_cv_.wait(lock, [&] { return has_room() || stopping_; });
  }
  if (stopping_) return Unavailable("the recorder is shutting down; record not accepted");

  for (auto& m : batch.messages) {
    size_t b = EstimateBytes(m);
    queue_.push_back(Item{std::move(m), b, next_ticket_++});
    ++stats_.recorded;
  }
  for (auto& o : batch.outcomes) {
    size_t b = EstimateBytes(o);
    queue_.push_back(Item{std::move(o), b, next_ticket_++});
  }
  const uint64_t last = next_ticket_ - 1;
  queued_bytes_ += bytes;
  work_cv_.notify_one();
  if (options_.durability == Durability::kAsync) return Status::Ok();
  return WaitFor(lock, last);
}

Status Recorder::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
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
  s.queued = queue_.size() + writing_;
  s.queued_bytes = queued_bytes_;
  return s;
}

void Recorder::WriterLoop() {
  std::vector<Item> items;
  while (true) {
    items.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) break;
      size_t n = std::min(queue_.size(), options_.max_batch_records);
      for (size_t i = 0; i < n; ++i) {
        items.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_ = n;
    }

    // Group commit. An outcome for a message in the same batch is folded into
    // its insert: most Deliver calls then cost one row write, not two.
    WriteBatch batch;
    std::unordered_map<std::string_view, size_t> index;
    size_t bytes = 0;
    batch.messages.reserve(items.size());
    for (auto& item : items) {
      if (auto* m = std::get_if<Message>(&item.record)) batch.messages.push_back(std::move(*m));
    }
    for (size_t i = 0; i < batch.messages.size(); ++i) index[batch.messages[i].id] = i;
    for (auto& item : items) {
      bytes += item.bytes;
      auto* o = std::get_if<OutcomeUpdate>(&item.record);
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
    const uint64_t last_ticket = items.back().ticket;
    const size_t message_count = batch.messages.size();
    bool written = WriteWithRetry(batch);

    {
      std::lock_guard<std::mutex> lock(mu_);
      committed_ticket_ = last_ticket;
      queued_bytes_ -= bytes;
      writing_ = 0;
      if (written) {
        stats_.committed += message_count;
        ++stats_.batches;
      }
    }
    commit_cv_.notify_all();
    room_cv_.notify_all();
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
