#include "reprise/store/recorder.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>
#include <unordered_map>

#include "intent_log.h"

namespace reprise {
namespace {
// How often a writer that has seen records lately looks for more without
// being woken, and how long it keeps doing so (see Queued).
constexpr auto kWriterPoll = std::chrono::milliseconds(1);
constexpr auto kWriterQuiet = std::chrono::milliseconds(100);
// How long a writer waits for a group of synchronous callers as large as the
// last one (see WriterLoop); a caller gone costs one such wait.
constexpr auto kGroupWait = std::chrono::microseconds(500);

// The writer keeps decoded messages for its next batch only up to this size
// (strings' capacity included): small ones are the many whose allocation
// matters.
constexpr size_t kMaxSpareMessageBytes = 16 * 1024;

// Unwritten chunks remembered for late synchronous callers: they look right
// after their own chunk, so a few suffice.
constexpr size_t kUnwrittenKept = 16;

// What a string costs the heap: nothing while it fits the string itself
// (short-string optimization), else its capacity rounded up to the
// allocator's 16-byte chunks plus the chunk header.
size_t HeapBytes(const std::string& s) {
  if (s.capacity() <= 15) return 0;
  return ((s.capacity() + 1 + 15) & ~size_t{15}) + 16;
}

// A decoded message's memory in the writer's batch: its slot (counted twice:
// the batch's vector may hold up to twice the slots it uses), its strings on
// the heap and the folding index's node.
size_t BatchBytes(const Message& m) {
  size_t n = 2 * sizeof(Message) + 64 + HeapBytes(m.id) + HeapBytes(m.channel) + HeapBytes(m.key) +
             HeapBytes(m.correlation_id) + HeapBytes(m.causation_id) + HeapBytes(m.payload) +
             HeapBytes(m.content_type) + HeapBytes(m.error) + HeapBytes(m.origin_id) +
             HeapBytes(m.job_id) + HeapBytes(m.flow_variant);
  // A map node: the pair, three pointers and a color, plus the chunk header.
  for (const auto& [k, v] : m.headers) n += 96 + HeapBytes(k) + HeapBytes(v);
  return n;
}

// Synchronous callers wait for their commit on a futex rather than through
// std::atomic::wait, which in libstdc++ calls sched_yield up to four times
// before it sleeps: with 16 callers on two cores those yields were about 60%
// of the callers' CPU in `process` durability
// (docs/performance-history.md, design change 14).
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);

// Returns once `word` may no longer hold `seen`; spuriously too, so the
// caller looks again.
void FutexWait(std::atomic<uint32_t>& word, uint32_t seen) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}

// As FutexWait, for at most `timeout`.
void FutexWaitFor(std::atomic<uint32_t>& word, uint32_t seen, std::chrono::nanoseconds timeout) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec ts{.tv_sec = static_cast<time_t>(s.count()),
              .tv_nsec = static_cast<long>((timeout - s).count())};
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, seen, &ts, nullptr, 0);
}

void FutexWakeAll(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

size_t BatchBytes(const OutcomeUpdate& o) {
  return 2 * sizeof(OutcomeUpdate) + HeapBytes(o.id) + HeapBytes(o.error) + HeapBytes(o.flow_variant);
}

// A record in a slab: this head, then its fields' bytes back to back in
// kField order, then each header as (key length, value length, key, value);
// the whole padded to 8 bytes. `size` is written last (see Serialize): until
// then it is 0 and the writer waits for the record.
enum Field { kId, kChannel, kKey, kCorrelation, kCausation, kPayload, kContentType, kError,
             kOrigin, kJob, kFlowVariant, kFields };
enum Kind : uint8_t { kMessage = 1, kOutcome = 2 };
struct Head {
  uint32_t size;  // the whole record, padded
  uint8_t kind;
  uint8_t direction;
  uint8_t outcome;
  uint8_t unused = 0;
  uint32_t attempt;
  uint32_t header_count;
  int64_t recorded_at_us;
  uint64_t payload_size;
  uint32_t len[kFields];
};

size_t Padded(size_t n) { return (n + 7) & ~size_t{7}; }

void Fields(const MessageView& m, std::string_view (&f)[kFields]) {
  f[kId] = m.id;
  f[kChannel] = m.channel;
  f[kKey] = m.key;
  f[kCorrelation] = m.correlation_id;
  f[kCausation] = m.causation_id;
  f[kPayload] = m.payload;
  f[kContentType] = m.content_type;
  f[kError] = m.error;
  f[kOrigin] = m.origin_id;
  f[kJob] = m.job_id;
  f[kFlowVariant] = m.flow_variant;
}

MessageView View(const OutcomeUpdate& o) {
  MessageView v;
  v.id = o.id;
  v.error = o.error;
  v.flow_variant = o.flow_variant;
  v.outcome = o.outcome;
  return v;
}

size_t SerializedSize(const MessageView& m) {
  std::string_view f[kFields];
  Fields(m, f);
  size_t n = sizeof(Head);
  for (auto s : f) n += s.size();
  if (m.headers != nullptr) {
    for (const auto& [k, v] : *m.headers) n += 8 + k.size() + v.size();
  }
  return Padded(n);
}

// The record's `size`, which publishes it: a producer may be writing it
// while the writer waits to read it.
std::atomic_ref<uint32_t> SizeOf(char* record) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(record));
}

// Marks the space at `at` as a record being written (Reserve, under mu_).
void MarkUnwritten(char* at) { SizeOf(at).store(0, std::memory_order_relaxed); }

// Writes `m` at `at` (SerializedSize(m) bytes), its size last, which hands
// it to the writer; returns the end.
char* Serialize(const MessageView& m, Kind kind, char* at) {
  std::string_view f[kFields];
  Fields(m, f);
  size_t size = sizeof(Head);
  for (auto s : f) size += s.size();
  if (m.headers != nullptr) {
    for (const auto& [k, v] : *m.headers) size += 8 + k.size() + v.size();
  }
  Head h{.size = static_cast<uint32_t>(Padded(size)),
         .kind = kind,
         .direction = static_cast<uint8_t>(m.direction),
         .outcome = static_cast<uint8_t>(m.outcome),
         .attempt = m.attempt,
         .header_count = m.headers != nullptr ? static_cast<uint32_t>(m.headers->size()) : 0,
         .recorded_at_us = m.recorded_at_us,
         .payload_size = m.payload_size,
         .len = {}};
  for (int i = 0; i < kFields; ++i) h.len[i] = static_cast<uint32_t>(f[i].size());
  static_assert(offsetof(Head, size) == 0 && sizeof h.size == 4);
  char* const start = at;
  std::memcpy(at + 4, reinterpret_cast<const char*>(&h) + 4, sizeof h - 4);
  at += sizeof h;
  for (auto s : f) {
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
  if (m.headers != nullptr) {
    for (const auto& [k, v] : *m.headers) {
      const uint32_t lens[2] = {static_cast<uint32_t>(k.size()), static_cast<uint32_t>(v.size())};
      std::memcpy(at, lens, sizeof lens);
      at += sizeof lens;
      std::memcpy(at, k.data(), k.size());
      at += k.size();
      std::memcpy(at, v.data(), v.size());
      at += v.size();
    }
  }
  SizeOf(start).store(h.size, std::memory_order_release);
  return start + h.size;
}

// Waits until the record at `at` is written (Serialize has set its size)
// and returns its size. The producer is copying it outside the lock right
// now: this is brief, unless that thread was preempted.
uint32_t AwaitRecord(const char* at) {
  std::atomic_ref<uint32_t> size = SizeOf(const_cast<char*>(at));
  for (int spins = 0;; ++spins) {
    if (uint32_t n = size.load(std::memory_order_acquire); n != 0) return n;
    if (spins < 64) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else if (spins < 128) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

// Reads the record at `at` into `batch`, reusing a message of `spares` (an
// earlier batch's, whose strings keep their memory) when there is one;
// returns its size in the slab and adds its memory in the batch to
// `batch_bytes`.
size_t Decode(const char* at, WriteBatch& batch, std::vector<Message>& spares, size_t& batch_bytes) {
  Head h;
  h.size = AwaitRecord(at);
  std::memcpy(reinterpret_cast<char*>(&h) + 4, at + 4, sizeof h - 4);
  const char* p = at + sizeof h;
  std::string_view f[kFields];
  for (int i = 0; i < kFields; ++i) {
    f[i] = std::string_view(p, h.len[i]);
    p += h.len[i];
  }
  if (h.kind == kOutcome) {
    batch.outcomes.push_back({.id = std::string(f[kId]),
                              .outcome = static_cast<Outcome>(h.outcome),
                              .error = std::string(f[kError]),
                              .flow_variant = std::string(f[kFlowVariant])});
    batch_bytes += BatchBytes(batch.outcomes.back());
    return h.size;
  }
  if (spares.empty()) {
    batch.messages.emplace_back();
  } else {
    batch.messages.push_back(std::move(spares.back()));
    spares.pop_back();
  }
  // Every field is assigned: nothing of the spare's last message remains.
  Message& m = batch.messages.back();
  m.headers.clear();
  m.id = f[kId];
  m.direction = static_cast<Direction>(h.direction);
  m.channel = f[kChannel];
  m.key = f[kKey];
  m.correlation_id = f[kCorrelation];
  m.causation_id = f[kCausation];
  m.payload = f[kPayload];
  m.payload_size = h.payload_size;
  m.content_type = f[kContentType];
  m.recorded_at_us = h.recorded_at_us;
  m.outcome = static_cast<Outcome>(h.outcome);
  m.error = f[kError];
  m.attempt = h.attempt;
  m.origin_id = f[kOrigin];
  m.job_id = f[kJob];
  m.flow_variant = f[kFlowVariant];
  for (uint32_t i = 0; i < h.header_count; ++i) {
    uint32_t lens[2];
    std::memcpy(lens, p, sizeof lens);
    p += sizeof lens;
    std::string k(p, lens[0]);
    p += lens[0];
    m.headers.emplace(std::move(k), std::string(p, lens[1]));
    p += lens[1];
  }
  batch_bytes += BatchBytes(m);
  return h.size;
}

// Asks for the cache lines the next record will be written to, as the
// producer's own: the writer (on another core) read them when it last
// decoded this slab, and a store to a line another core holds waits for it
// (about 150 ns here, most of a record call). Ahead of the next record by a
// record's size, at least 1 KiB, at most 4 KiB; prefetches never fault.
void PrefetchForWrite(const char* next, const char* end, size_t record_bytes) {
  const size_t ahead = std::min<size_t>(std::clamp<size_t>(record_bytes, 1024, 4096), end - next);
  for (size_t off = 0; off < ahead; off += 64) {
#if defined(__x86_64__)
    asm volatile("prefetchw %0" : : "m"(next[off]));  // a no-op on CPUs without it
#else
    __builtin_prefetch(next + off, 1);
#endif
  }
}

size_t PageRounded(size_t n) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

// A slab: a 32nd of the bound, between one page-ish 4 KiB and 256 KiB.
size_t SlabSize(size_t bound) { return PageRounded(std::clamp<size_t>(bound / 32, 4096, 256 * 1024)); }

}  // namespace

MessageView MessageView::Of(const Message& m) {
  return {.id = m.id,
          .channel = m.channel,
          .key = m.key,
          .correlation_id = m.correlation_id,
          .causation_id = m.causation_id,
          .payload = m.payload,
          .content_type = m.content_type,
          .error = m.error,
          .origin_id = m.origin_id,
          .job_id = m.job_id,
          .flow_variant = m.flow_variant,
          .headers = m.headers.empty() ? nullptr : &m.headers,
          .direction = m.direction,
          .outcome = m.outcome,
          .attempt = m.attempt,
          .recorded_at_us = m.recorded_at_us,
          .payload_size = m.payload_size};
}

Recorder::Slab::Slab(size_t bytes) {
  // Populated at once: one system call instead of a page fault per page on
  // the host's thread (each costs microseconds on a virtual machine).
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (p == MAP_FAILED) return;
  data = static_cast<char*>(p);
  size = bytes;
}

Recorder::Slab::~Slab() {
  if (data != nullptr) munmap(data, size);
}

Recorder::Recorder(Journal* journal, RecorderOptions options)
    : journal_(journal),
      options_(options),
      slab_size_(SlabSize(options.max_queue_bytes)),
      batch_budget_(options.max_queue_bytes / 4),
      slab_budget_(options.max_queue_bytes - options.max_queue_bytes / 4),
      max_spare_(std::max<size_t>(4, slab_budget_ / slab_size_ / 4)) {
  // In every mode: records a `process` run left there go to the journal
  // before this run's.
  if (!options_.intent_log.empty() && (options_.durability == RecorderOptions::Durability::kProcess ||
                                       access(options_.intent_log.c_str(), F_OK) == 0)) {
    OpenIntentLog();
  }
  waits_for_commit_ = options_.durability != RecorderOptions::Durability::kAsync && log_ == nullptr;
  writer_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "reprise-writer");  // for top, perf and gdb
    WriterLoop();
  });
}

// Before the writer starts and any record is taken: what the log holds and
// the journal lacks is committed first, in the order it was recorded (an
// outcome after its message). Messages the journal has are left out (the
// writer had committed them, but not yet released them from the log), so a
// second start after a crash here writes nothing twice.
void Recorder::OpenIntentLog() {
  IntentLog::Recovered found;
  auto log = IntentLog::Open(options_.intent_log, &found);
  if (!log.ok()) {
    std::fprintf(stderr, "reprise: %s; `process` calls wait for their commit instead\n",
                 log.status().ToString().c_str());
    return;
  }
  WriteBatch batch;
  std::vector<Message> spares;
  size_t batch_bytes = 0;
  for (const IntentLog::Recovered::Entry& e : found.entries) {
    const char* at = e.body.data();
    const char* const end = at + e.body.size();
    for (uint32_t i = 0; i < e.records && end - at >= static_cast<ptrdiff_t>(sizeof(Head)); ++i) {
      const size_t messages = batch.messages.size(), outcomes = batch.outcomes.size();
      at += Decode(at, batch, spares, batch_bytes);
      if (e.first_ticket + i > found.released) continue;
      batch.messages.resize(messages);  // committed and released: not again
      batch.outcomes.resize(outcomes);
    }
  }
  // Usually none is in the journal: one write. Else (a duplicate id fails
  // the whole transaction) the ones it holds are looked up and left out.
  Status written = batch.empty() ? Status::Ok() : journal_->Write(batch, false);
  if (!written.ok()) {
    std::erase_if(batch.messages, [&](const Message& m) { return journal_->Get(m.id).ok(); });
    written = WriteWithRetry(batch);
  }
  const size_t records = batch.messages.size() + batch.outcomes.size();
  stats_.recovered = records;
  stats_.torn = found.torn;
  if (records > 0 || found.torn > 0) {
    std::fprintf(stderr,
                 "reprise: intent log %s: %zu record(s) committed to the journal at start%s; %llu torn "
                 "or corrupt entr%s dropped (their calls had not returned)\n",
                 (*log)->path().c_str(), records, written.ok() ? "" : (" (" + written.ToString() + ")").c_str(),
                 static_cast<unsigned long long>(found.torn), found.torn == 1 ? "y" : "ies");
  }
  const bool used = options_.durability == RecorderOptions::Durability::kProcess;
  if (Status st = (*log)->Reset(used ? slab_budget_ : 0); !st.ok() || !used) {
    if (st.ok()) return;
    std::fprintf(stderr, "reprise: %s; `process` calls wait for their commit instead\n", st.ToString().c_str());
    return;
  }
  log_ = std::move(*log);
}

Recorder::~Recorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  room_cv_.notify_all();
  writer_.join();
}

// The host's thread: the lock is held to reserve room in the tail slab; the
// record's bytes are copied after it is released, so that another thread
// recording does not wait for the copy. No allocation, and no system call
// while the writer is awake.
Status Recorder::Record(const MessageView& message) {
  const size_t bytes = SerializedSize(message);
  char* at = nullptr;
  const char* slab_end = nullptr;
  uint64_t ticket = 0;
  bool wake = false;
  bool sync = waits_for_commit_;
  char* entry = nullptr;
  {
    std::unique_lock<std::mutex> lock(mu_);
    REPRISE_ASSIGN_OR_RETURN(char* reserved, Reserve(lock, bytes, 1));
    at = reserved;
    slab_end = queue_.back()->data + queue_.back()->size;
    ++stats_.recorded;
    ticket = next_ticket_++;
    queued_bytes_ += bytes;
    if (log_ != nullptr) {
      entry = LogEntry(bytes, ticket, 1);
      sync = entry == nullptr;
    }
    wake = sync ? SyncQueued() : writer_asleep_;
  }
  // See Queued for when the writer needs waking. Before the record is
  // published (a woken writer waits for it): after, an async call touches
  // nothing of the recorder's, which may be going away once it is written.
  if (wake) work_cv_.notify_one();
  // Into the intent log first: the writer takes the record once it is in
  // the queue, and may then release its entry.
  if (entry != nullptr) {
    Serialize(message, kMessage, entry + IntentLog::kEntryHead);
    IntentLog::Seal(entry);
  }
  PrefetchForWrite(at + bytes, slab_end, bytes);
  Serialize(message, kMessage, at);
  if (!sync) return Status::Ok();
  std::unique_lock<std::mutex> lock(mu_);
  return WaitFor(lock, ticket, /*own_records=*/true);
}

Status Recorder::Record(const Message& message) { return Record(MessageView::Of(message)); }

Status Recorder::RecordOutcome(const OutcomeUpdate& update) {
  const MessageView view = View(update);
  const size_t bytes = SerializedSize(view);
  std::unique_lock<std::mutex> lock(mu_);
  REPRISE_ASSIGN_OR_RETURN(char* at, Reserve(lock, bytes, 0));
  char* entry = LogEntry(bytes, next_ticket_, 1);
  if (entry != nullptr) {
    Serialize(view, kOutcome, entry + IntentLog::kEntryHead);
    IntentLog::Seal(entry);
  }
  Serialize(view, kOutcome, at);
  return Queued(lock, 1, bytes, waits_for_commit_ || (log_ != nullptr && entry == nullptr));
}

// A batch's records go into one contiguous run, so that it is admitted or
// dropped as a whole.
Status Recorder::Submit(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  size_t bytes = 0;
  for (const auto& m : batch.messages) bytes += SerializedSize(MessageView::Of(m));
  for (const auto& o : batch.outcomes) bytes += SerializedSize(View(o));

  const size_t items = batch.messages.size() + batch.outcomes.size();
  std::unique_lock<std::mutex> lock(mu_);
  REPRISE_ASSIGN_OR_RETURN(char* reserved, Reserve(lock, bytes, batch.messages.size()));
  char* const entry = LogEntry(bytes, next_ticket_, items);
  // Into the intent log first (see Record).
  for (char* start : {entry, reserved}) {
    if (start == nullptr) continue;
    char* at = start == entry ? entry + IntentLog::kEntryHead : start;
    for (const auto& m : batch.messages) at = Serialize(MessageView::Of(m), kMessage, at);
    for (const auto& o : batch.outcomes) at = Serialize(View(o), kOutcome, at);
    if (start == entry) IntentLog::Seal(entry);
  }
  stats_.recorded += batch.messages.size();
  return Queued(lock, items, bytes, waits_for_commit_ || (log_ != nullptr && entry == nullptr));
}

char* Recorder::LogEntry(size_t bytes, uint64_t ticket, size_t items) {
  if (log_ == nullptr) return nullptr;
  char* entry = log_->Reserve(bytes, ticket, static_cast<uint32_t>(items));
  if (entry == nullptr) {
    // Larger than the whole log (Reserve made room for the rest): these
    // records wait for their commit, and marks wait with them.
    for (size_t i = 0; i < items; ++i) unlogged_.push_back(ticket + i);
  }
  return entry;
}

StatusOr<char*> Recorder::Reserve(std::unique_lock<std::mutex>& lock, size_t bytes, size_t messages) {
  while (true) {
    if (stopping_) return Unavailable("the recorder is shutting down; record not accepted");
    if (log_ != nullptr && log_->Fits(bytes) && !log_->HasRoom(bytes)) {
      // The intent log is full: the journal is behind by its whole size.
      if (options_.overload == RecorderOptions::OverloadPolicy::kDrop) {
        stats_.dropped += messages;
        return ResourceExhausted("the intent log is full (" + std::to_string(log_->used()) + " of " +
                                 std::to_string(log_->capacity()) +
                                 " bytes waiting for the journal); record dropped by the `drop` overload policy");
      }
      room_cv_.wait(lock);
      continue;
    }
    if (!queue_.empty()) {
      Slab& tail = *queue_.back();
      if (tail.size - tail.used >= bytes) {
        char* at = tail.data + tail.used;
        tail.used += bytes;
        MarkUnwritten(at);
        return at;
      }
    }
    const size_t size = bytes <= slab_size_ ? slab_size_ : PageRounded(bytes);
    if (size == slab_size_ && !spare_.empty()) {
      queue_.push_back(std::move(spare_.back()));
      spare_.pop_back();
      continue;
    }
    // A new slab, within the slabs' share of the bound. When no slab is in
    // use, any record is admitted (spares freed first), so that one larger
    // than the whole bound cannot wait forever. A tail whose records the
    // writer has all taken counts as unused here: it stays where it is (the
    // writer may still be reading it) until the writer's next pass, which
    // frees it once it is no longer the tail.
    const Slab* tail = queue_.empty() ? nullptr : queue_.back().get();
    const size_t idle_tail = tail != nullptr && tail->consumed == tail->used ? tail->size : 0;
    const size_t in_use = held_bytes_ - spare_.size() * slab_size_ - idle_tail;
    if (in_use + size <= slab_budget_ || in_use == 0) {
      while (!spare_.empty() && held_bytes_ + size > slab_budget_) {
        spare_.pop_back();
        held_bytes_ -= slab_size_;
      }
      auto slab = std::make_unique<Slab>(size);
      if (slab->data == nullptr) {
        stats_.dropped += messages;
        return ResourceExhausted("no memory for the journal queue (mmap of " + std::to_string(size) +
                                 " bytes failed); record dropped");
      }
      held_bytes_ += size;
      queue_.push_back(std::move(slab));
      continue;
    }
    if (options_.overload == RecorderOptions::OverloadPolicy::kDrop) {
      stats_.dropped += messages;
      return ResourceExhausted("journal queue is full (" + std::to_string(queued_bytes_) +
                               " bytes waiting, bound " + std::to_string(options_.max_queue_bytes) +
                               "); record dropped by the `drop` overload policy");
    }
    room_cv_.wait(lock);
  }
}

Status Recorder::Queued(std::unique_lock<std::mutex>& lock, size_t items, size_t bytes, bool sync) {
  next_ticket_ += items;
  queued_bytes_ += bytes;
  // Waking the writer is a system call. When the caller does not wait (async,
  // or in the intent log) only a writer asleep after a quiet spell needs it:
  // one that writes or polls finds the record by itself within kWriterPoll.
  // A synchronous caller waits for the commit, so it wakes a polling writer
  // too.
  if (!sync) {
    if (writer_asleep_) work_cv_.notify_one();
    return Status::Ok();
  }
  if (SyncQueued()) work_cv_.notify_one();
  return WaitFor(lock, next_ticket_ - 1, /*own_records=*/true);
}

Status Recorder::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  work_cv_.notify_one();
  return WaitFor(lock, next_ticket_ - 1, /*own_records=*/false);
}

Status Recorder::WaitFor(std::unique_lock<std::mutex>& lock, uint64_t ticket, bool own_records) {
  // A write that fails while we wait means the record is not committed yet:
  // say so now rather than hang until the journal recovers.
  const uint64_t failures_before = write_failures_.load(std::memory_order_relaxed);
  // Waited for without the lock: when a commit releases a group of callers,
  // they go on at once rather than take the lock back one after the other.
  lock.unlock();
  while (true) {
    const uint32_t seen = commit_events_.load(std::memory_order_acquire);
    if (committed_ticket_.load(std::memory_order_acquire) >= ticket ||
        write_failures_.load(std::memory_order_acquire) > failures_before ||
        writer_done_.load(std::memory_order_acquire)) {
      break;
    }
    FutexWait(commit_events_, seen);
  }
  if (committed_ticket_.load(std::memory_order_acquire) >= ticket) {
    // Unwritten chunks are rare: only a caller that may be in one looks.
    if (!own_records || last_unwritten_.load(std::memory_order_acquire) < ticket) return Status::Ok();
    lock.lock();
    for (const Unwritten& u : unwritten_) {
      if (ticket >= u.first && ticket <= u.last) return u.why;
    }
    return Status::Ok();
  }
  lock.lock();
  return Unavailable("journal write failed: " + stats_.last_error +
                     "; the record is kept in memory and retried, but it is not committed yet");
}

uint64_t Recorder::CommittedMark() const {
  const uint64_t durable = durable_ticket_.load(std::memory_order_acquire);
  if (log_ == nullptr) return durable;
  return std::max(durable, logged_ticket_.load(std::memory_order_acquire));
}

bool Recorder::AwaitRecorded(std::chrono::milliseconds bound) {
  if (log_ == nullptr) return true;
  uint64_t mark;
  {
    std::lock_guard<std::mutex> lock(mu_);
    mark = next_ticket_ - 1;
    if (durable_ticket_.load(std::memory_order_relaxed) >= mark) return true;
    ++stats_.read_waits;
  }
  // The writer polls while records come; a reader should not wait for that.
  work_cv_.notify_one();
  if (WaitFor(mark, bound, /*journal=*/true)) return true;
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.read_wait_timeouts;
  return false;
}

uint64_t Recorder::Mark() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_ticket_ - 1;
}

bool Recorder::WaitCommitted(uint64_t mark, std::chrono::milliseconds timeout) const {
  return WaitFor(mark, timeout, /*journal=*/false);
}

bool Recorder::WaitFor(uint64_t mark, std::chrono::milliseconds timeout, bool journal) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const uint32_t seen = commit_events_.load(std::memory_order_acquire);
    if ((journal ? durable_ticket_.load(std::memory_order_acquire) : CommittedMark()) >= mark) return true;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds::zero() || writer_done_.load(std::memory_order_acquire)) {
      return false;
    }
    FutexWaitFor(commit_events_, seen, left);
  }
}

void Recorder::CommitEvent() {
  commit_events_.fetch_add(1, std::memory_order_release);
  FutexWakeAll(commit_events_);
}

RecorderStats Recorder::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  RecorderStats s = stats_;
  s.queued = static_cast<size_t>(next_ticket_ - 1 - committed_ticket_);
  s.queued_bytes = queued_bytes_;
  s.held_bytes = held_bytes_;
  return s;
}

bool Recorder::SyncQueued() {
  ++sync_queued_;
  return writer_waiting_ || (writer_gathering_ && sync_queued_ >= group_target_);
}

bool Recorder::HasWork() const {
  if (queue_.empty()) return false;
  return queue_.size() > 1 || queue_.back()->consumed < queue_.back()->used;
}

void Recorder::WriterLoop() {
  using Clock = std::chrono::steady_clock;
  std::vector<std::unique_ptr<Slab>> full;  // slabs producers have moved past
  WriteBatch batch;
  Clock::time_point last_work = Clock::now();
  size_t items = 0, record_bytes = 0, batch_bytes = 0;
  uint64_t ticket = 0;
  // Decodes the records in [at, end) into the batch, writing a chunk
  // whenever it reaches max_batch_records or about batch_budget_ bytes.
  auto decode = [&](const char* at, const char* end) {
    while (at < end) {
      const size_t size = Decode(at, batch, spare_messages_, batch_bytes);
      at += size;
      record_bytes += size;
      if (++items == options_.max_batch_records || batch_bytes >= batch_budget_) {
        WriteChunk(batch, items, record_bytes, ticket);
        ticket += items;
        items = record_bytes = batch_bytes = 0;
      }
    }
  };
  while (true) {
    const char* tail_from = nullptr;
    const char* tail_to = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      while (!HasWork() && !stopping_) {
        // While records keep coming the writer looks for them every
        // kWriterPoll by itself, so that a producer makes no system call to
        // wake it; after kWriterQuiet without any it sleeps until woken.
        const bool quiet = Clock::now() - last_work >= kWriterQuiet;
        if (quiet && !spare_messages_.empty()) {
          // A quiet host gets the memory back; freed outside the lock.
          std::vector<Message> freed;
          freed.swap(spare_messages_);
          lock.unlock();
          freed = {};
          lock.lock();
          continue;  // look again: records may have come meanwhile
        }
        writer_asleep_ = quiet;
        writer_waiting_ = true;
        if (writer_asleep_) {
          work_cv_.wait(lock);
        } else {
          work_cv_.wait_for(lock, kWriterPoll);
        }
        writer_waiting_ = writer_asleep_ = false;
      }
      if (!HasWork()) break;  // stopping, and everything is written
      if (options_.durability != RecorderOptions::Durability::kAsync && sync_queued_ < group_target_ &&
          !stopping_) {
        // Group commit: the callers the last commit released are recording
        // again, one after the other; a commit for the first few would make
        // the rest wait for the next one. Wait, briefly, for as many.
        writer_gathering_ = true;
        work_cv_.wait_for(lock, kGroupWait, [&] { return sync_queued_ >= group_target_ || stopping_; });
        writer_gathering_ = false;
      }
      group_target_ = sync_queued_;
      sync_queued_ = 0;
      last_work = Clock::now();
      // The slabs producers have moved past, whole; the tail's new records
      // are decoded in place while producers keep appending behind them, so
      // that they go on writing memory the writer has not just read.
      // A slab larger than the standard size (made for an oversized
      // record) is taken whole rather than kept as the tail, which would
      // keep its memory.
      const bool keep_tail = queue_.back()->size == slab_size_;
      const auto kept = keep_tail ? queue_.end() - 1 : queue_.end();
      full.insert(full.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(kept));
      queue_.erase(queue_.begin(), kept);
      if (keep_tail) {
        Slab& tail = *queue_.back();
        tail_from = tail.data + tail.consumed;
        tail_to = tail.data + tail.used;
        tail.consumed = tail.used;
      }
      ticket = committed_ticket_ + 1;
    }
    for (auto& slab : full) {
      decode(slab->data + slab->consumed, slab->data + slab->used);
      Release(std::move(slab));  // as soon as it is decoded
    }
    full.clear();
    decode(tail_from, tail_to);
    if (items > 0) WriteChunk(batch, items, record_bytes, ticket);
    items = record_bytes = batch_bytes = 0;
  }
  writer_done_.store(true, std::memory_order_release);
  CommitEvent();
}

void Recorder::Release(std::unique_ptr<Slab> slab) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (slab->size == slab_size_ && spare_.size() < max_spare_) {
      slab->used = slab->consumed = 0;
      spare_.push_back(std::move(slab));
    } else {
      held_bytes_ -= slab->size;
    }
  }
  slab.reset();  // unmapped outside the lock
  room_cv_.notify_all();
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

void Recorder::NoteLogged(uint64_t last) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t committed = committed_ticket_.load(std::memory_order_relaxed);
    while (!unlogged_.empty() && unlogged_.front() <= committed) unlogged_.pop_front();
    if (!unlogged_.empty()) last = std::min(last, unlogged_.front() - 1);
    if (last <= logged_ticket_.load(std::memory_order_relaxed)) return;
    logged_ticket_.store(last, std::memory_order_release);
  }
  CommitEvent();
}

void Recorder::WriteChunk(WriteBatch& batch, size_t items, size_t record_bytes, uint64_t first_ticket) {
  // Every record decoded is in the intent log: its caller wrote it there
  // before the queue. Marks pass it now, not after the commit.
  if (log_ != nullptr) NoteLogged(first_ticket + items - 1);
  // Group commit. An outcome for a message in the same batch is folded into
  // its insert: most Deliver calls then cost one row write, not two.
  if (!batch.outcomes.empty()) {
    std::unordered_map<std::string_view, size_t> index;
    for (size_t i = 0; i < batch.messages.size(); ++i) index[batch.messages[i].id] = i;
    std::vector<OutcomeUpdate> rest;
    for (OutcomeUpdate& o : batch.outcomes) {
      auto it = index.find(o.id);
      if (it == index.end()) {
        rest.push_back(std::move(o));
        continue;
      }
      Message& m = batch.messages[it->second];
      m.outcome = o.outcome;
      m.error = std::move(o.error);
      if (!o.flow_variant.empty()) m.flow_variant = std::move(o.flow_variant);
    }
    batch.outcomes.swap(rest);
  }
  const size_t message_count = batch.messages.size();
  Status written = WriteWithRetry(batch);
  // Kept for the next batch. Fresh strings for every record would cost an
  // allocation each and make the writer's heap grow and shrink with every
  // batch, and each time the heap shrinks the kernel interrupts the host's
  // threads on the other cores (a TLB shootdown): microseconds added to
  // record calls there.
  // Only small ones, and no more than an eighth of the bound in all: a
  // kept string keeps its capacity, which the next batch's budget counts,
  // so one large payload kept would shrink every later group commit.
  size_t kept = 0;
  for (const Message& m : spare_messages_) kept += BatchBytes(m);
  for (Message& m : batch.messages) {
    const size_t bytes = BatchBytes(m);
    if (bytes > kMaxSpareMessageBytes || kept + bytes > batch_budget_ / 2) continue;
    kept += bytes;
    spare_messages_.push_back(std::move(m));
  }
  batch.messages.clear();
  batch.outcomes.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t last = first_ticket + items - 1;
    queued_bytes_ -= record_bytes;
    if (!written.ok()) {
      // A synchronous caller of this chunk must not take "done" for
      // "committed", even if it only looks now.
      unwritten_.push_back({first_ticket, last, written});
      if (unwritten_.size() > kUnwrittenKept) unwritten_.pop_front();
      last_unwritten_.store(last, std::memory_order_release);
    }
    committed_ticket_.store(last, std::memory_order_release);
    // Lost at shutdown (Unavailable) counts nothing; a refusal, the rest.
    if (written.ok() || written.code() != StatusCode::kUnavailable) {
      stats_.committed += message_count;
      ++stats_.batches;
      // Only while nothing before was lost: a mark covers all below it.
      if (durable_ticket_.load(std::memory_order_relaxed) + 1 == first_ticket) {
        durable_ticket_.store(last, std::memory_order_release);
        if (log_ != nullptr) log_->Release(last);
      }
    }
  }
  CommitEvent();
  room_cv_.notify_all();
}

Status Recorder::WriteWithRetry(WriteBatch& batch) {
  const bool sync = options_.durability == RecorderOptions::Durability::kPower;
  auto backoff = std::chrono::milliseconds(20);
  int attempts_while_stopping = 0;
  while (true) {
    const auto began = std::chrono::steady_clock::now();
    Status st = journal_->Write(batch, sync);
    if (st.ok()) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
      std::lock_guard<std::mutex> lock(mu_);
      stats_.commit_latency.Add(took.count());
      NoteWritten();
      return Status::Ok();
    }
    if (st.code() != StatusCode::kUnavailable) {
      // Not transient: find the records the journal refuses by writing them
      // one at a time, keep the rest. What is said is the first refusal of a
      // single record, which names it (the batch's error may not).
      uint64_t rejected = 0;
      auto write_one = [&](WriteBatch one) {
        Status refused = journal_->Write(one, sync);
        if (refused.ok()) return;
        if (rejected++ == 0) st = std::move(refused);
      };
      for (auto& m : batch.messages) {
        WriteBatch one;
        one.messages.push_back(std::move(m));
        write_one(std::move(one));
      }
      for (auto& o : batch.outcomes) {
        WriteBatch one;
        one.outcomes.push_back(std::move(o));
        write_one(std::move(one));
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
      }
      // Synchronous callers of this batch learn it once the chunk is done
      // (WriteChunk); they cannot tell whose record it was.
      if (rejected == 0) return Status::Ok();
      return st.WithPrefix("the journal refused " + std::to_string(rejected) +
                           " record(s) of this group commit (this one or another)");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.failed_writes;
      NoteFault(st.ToString());
      // Synchronous callers learn now that their records are not committed.
      write_failures_.fetch_add(1, std::memory_order_release);
    }
    CommitEvent();

    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_ && ++attempts_while_stopping > 3) {
      stats_.rejected += batch.messages.size();
      std::fprintf(stderr, "reprise: shutting down with the journal unavailable; %zu record(s) lost: %s\n",
                   batch.messages.size() + batch.outcomes.size(), st.ToString().c_str());
      return st.WithPrefix("the recorder stopped with the journal unavailable; record lost");
    }
    // Transient (busy, disk full, I/O): wait and retry; the queue's bound
    // and the overload policy protect the host meanwhile.
    work_cv_.wait_for(lock, backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace reprise
