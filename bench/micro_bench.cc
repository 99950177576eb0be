// Micro-benchmarks (Google Benchmark) of the pieces on the host's thread:
// the recorder's enqueue path on its own (over a journal whose writes cost
// nothing), id generation and filter compilation. The figures in the table
// come from reprise-bench; these help find where a record call's time goes.
#include <benchmark/benchmark.h>

#include <cstring>

#include "reprise/base/ulid.h"
#include "reprise/store/filter.h"
#include "reprise/store/journal.h"
#include "reprise/store/recorder.h"

namespace reprise {
namespace {

// A journal whose writes succeed at once: isolates the recorder's own cost.
class NullJournal final : public Journal {
 public:
  NullJournal() : inner_(std::move(Journal::Open("sqlite::memory:").value())) {}
  std::string Describe() const override { return "null"; }
  int SchemaVersion() const override { return inner_->SchemaVersion(); }
  Status Write(const WriteBatch&, bool) override { return Status::Ok(); }
  StatusOr<MessagePage> List(const ListQuery& q) override { return inner_->List(q); }
  StatusOr<MessageLineage> Get(std::string_view id) override { return inner_->Get(id); }
  StatusOr<std::vector<CountRow>> Count(std::string_view f, std::string_view g) override {
    return inner_->Count(f, g);
  }
  StatusOr<uint64_t> DropBefore(int64_t cutoff_us) override { return inner_->DropBefore(cutoff_us); }
  StatusOr<uint64_t> RemoveOldest(int64_t cutoff_us, size_t max) override {
    return inner_->RemoveOldest(cutoff_us, max);
  }
  StatusOr<JournalExtent> Extent() override { return inner_->Extent(); }
  StatusOr<std::vector<ChannelInfo>> Channels() override { return inner_->Channels(); }
  StatusOr<std::vector<std::string>> Keys(std::string_view f, size_t max) override {
    return inner_->Keys(f, max);
  }
  StatusOr<std::vector<Message>> Attempts(std::string_view c, std::string_view t) override {
    return inner_->Attempts(c, t);
  }
  JobStore& jobs() override { return inner_->jobs(); }
  AuditStore& audit() override { return inner_->audit(); }
  FlowStore& flows() override { return inner_->flows(); }
  InstanceStore& instances() override { return inner_->instances(); }

 private:
  std::unique_ptr<Journal> inner_;
};

void BM_MemcpyFloor(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::string payload(n, 'x');
  std::vector<char> buf(n * 64);
  size_t i = 0;
  for (auto _ : state) {
    char* dst = buf.data() + (i++ % 64) * n;
    std::memcpy(dst, payload.data(), n);
    benchmark::DoNotOptimize(dst);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_MemcpyFloor)->Arg(256)->Arg(4096);

NullJournal* null_journal = nullptr;
Recorder* recorder = nullptr;

// One recorder over a journal that keeps nothing, shared by a benchmark's
// threads: the first thread makes it before the timed loop and ends it after.
void StartSharedRecorder(const benchmark::State& state) {
  if (state.thread_index() != 0) return;
  null_journal = new NullJournal();
  recorder = new Recorder(null_journal, {.max_queue_bytes = 256u << 20});
}

void StopSharedRecorder(const benchmark::State& state) {
  if (state.thread_index() != 0) return;
  delete recorder;
  delete null_journal;
}

void BM_RecorderRecord(benchmark::State& state) {
  StartSharedRecorder(state);
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  UlidGenerator ids;
  for (auto _ : state) {
    Message m;
    m.channel = "payments.received";
    m.key = "account:42";
    m.payload = payload;
    m.id = ids.Next(1);
    m.correlation_id = m.id;
    benchmark::DoNotOptimize(recorder->Record(std::move(m)));
  }
  StopSharedRecorder(state);
}
BENCHMARK(BM_RecorderRecord)->Arg(256)->Arg(4096)->Threads(1)->Threads(2)->UseRealTime();

// What the agent does: the fields handed over as views, no Message built.
void BM_RecorderRecordView(benchmark::State& state) {
  StartSharedRecorder(state);
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  UlidGenerator ids;
  for (auto _ : state) {
    std::string id = ids.Next(1);
    MessageView m{.id = id,
                  .channel = "payments.received",
                  .key = "account:42",
                  .correlation_id = id,
                  .payload = payload,
                  .content_type = "application/json"};
    benchmark::DoNotOptimize(recorder->Record(m));
  }
  StopSharedRecorder(state);
}
BENCHMARK(BM_RecorderRecordView)->Arg(256)->Arg(4096)->Threads(1)->Threads(2)->UseRealTime();

void BM_UlidNext(benchmark::State& state) {
  UlidGenerator ids;
  int64_t ms = 1;
  for (auto _ : state) benchmark::DoNotOptimize(ids.Next(ms));
}
BENCHMARK(BM_UlidNext);

void BM_FilterCompile(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter::Compile(
        "outcome = failed and channel = \"payments.received\" and recorded > -1h", {}));
  }
}
BENCHMARK(BM_FilterCompile);

}  // namespace
}  // namespace reprise

BENCHMARK_MAIN();
