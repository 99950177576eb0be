// Sustained journal throughput per durability mode, on a journal that already
// holds millions of messages, against the raw limit measured in the same run:
// prepared INSERTs of the same rows into the same file (same schema and
// indexes) in large transactions, in a tight loop, merging key runs as the
// journal does; and against the physical floor: the same rows' bytes
// appended to a plain file in large write(2)s (with an fdatasync per batch,
// for `power`).
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "bench.h"
#include "reprise/agent/agent.h"
#include "sqlite/key_runs.h"

namespace reprise::bench {
namespace {

double Elapsed(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Messages/s of prepared INSERTs in transactions of 10,000 for `seconds`.
StatusOr<double> RawRate(const std::string& path, double seconds, uint64_t keys) {
  REPRISE_ASSIGN_OR_RETURN(auto raw, RawInserter::Open(path));
  RowSource src(256, keys, 3);
  UlidGenerator ids;
  uint64_t n = 0;
  const auto start = Clock::now();
  while (Elapsed(start) < seconds) {
    REPRISE_RETURN_IF_ERROR((raw)->Exec("BEGIN"));
    for (int i = 0; i < 10000; ++i, ++n) {
      Message m;
      m.direction = Direction::kIn;
      m.channel = src.Channel(n);
      m.key = src.Key();
      m.payload = src.Payload(n);
      m.content_type = "application/json";
      Stamp(m, ids);
      REPRISE_RETURN_IF_ERROR((raw)->Insert(m));
    }
    REPRISE_RETURN_IF_ERROR((raw)->Exec("COMMIT"));
    // Keeping the key index in shape is part of writing this schema: merge
    // runs as the journal does after a commit (about four entries per row).
    for (int64_t budget = 4 * 10000; budget > 0;) {
      REPRISE_ASSIGN_OR_RETURN(auto moved, sqlite::CompactKeyRuns((raw)->db(), sqlite::KeyRunLayout{}));
      if (moved == 0) break;
      budget -= moved;
    }
  }
  return static_cast<double>(n) / Elapsed(start);
}

// Messages/s of the same rows' bytes appended to a plain file beside the
// journal, 1 MiB per write(2); with `sync`, an fdatasync per 4096 rows (the
// writer's largest group commit).
StatusOr<double> FileRate(const std::string& path, double seconds, uint64_t keys, bool sync) {
  const std::string file = path + ".floor";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot create " + file);
  RowSource src(256, keys, 3);
  UlidGenerator ids;
  std::string buf;
  buf.reserve(2u << 20);
  uint64_t n = 0;
  bool failed = false;
  const auto start = Clock::now();
  while (!failed && Elapsed(start) < seconds) {
    for (int i = 0; i < 4096; ++i, ++n) {
      Message m;
      m.channel = src.Channel(n);
      m.key = src.Key();
      Stamp(m, ids);
      for (const std::string* f : std::initializer_list<const std::string*>{
               &m.id, &m.channel, &m.key, &m.correlation_id, &src.Payload(n)}) {
        buf.append(*f);
      }
      buf.append("application/json");
      buf.append(40, '\0');  // the fixed fields: times, direction, outcome, lengths
      if (buf.size() >= (1u << 20)) {
        failed |= ::write(fd, buf.data(), buf.size()) != static_cast<ssize_t>(buf.size());
        buf.clear();
      }
    }
    if (sync) failed |= ::fdatasync(fd) != 0;
  }
  const double rate = static_cast<double>(n) / Elapsed(start);
  ::close(fd);
  std::remove(file.c_str());
  if (failed) return Unavailable("writing " + file + " failed");
  return rate;
}

// CPU time of the calling thread so far, in nanoseconds.
int64_t ThreadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

struct AgentRun {
  double rate = 0;            // messages/s, counted until everything is committed (Flush)
  double caller_cpu_ns = 0;   // CPU of the calling threads per record, waits included
  Latencies call;             // a record call's duration, every 16th call sampled
};

// Records through the agent from `callers` threads for `seconds`.
StatusOr<AgentRun> AgentRate(const std::string& path, Durability durability, int callers,
                             double seconds, uint64_t keys) {
  REPRISE_ASSIGN_OR_RETURN(
      auto agent,
      Agent::Start(
          {.service = "bench", .journal = "sqlite:" + path, .listen = "", .durability = durability}));
  std::atomic<uint64_t> total{0};
  std::atomic<bool> failed{false};
  std::atomic<int64_t> cpu_ns{0};
  std::mutex mu;
  std::vector<double> samples;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int c = 0; c < callers; ++c) {
    pool.emplace_back([&, c] {
      RowSource src(256, keys, 100 + c);
      const int64_t cpu_start = ThreadCpuNs();
      uint64_t n = 0;
      std::vector<double> mine;
      while ((n & 63) != 0 || Elapsed(start) < seconds) {
        std::string key = src.Key();
        const bool sample = (n & 15) == 0;
        const auto before = sample ? Clock::now() : Clock::time_point{};
        auto id = (agent)->RecordInbound(src.Channel(n), key, src.Payload(n),
                                          {.content_type = "application/json"});
        if (sample) mine.push_back(std::chrono::duration<double, std::nano>(Clock::now() - before).count());
        if (!id.ok()) failed = true;
        ++n;
      }
      total += n;
      std::lock_guard<std::mutex> lock(mu);
      samples.insert(samples.end(), mine.begin(), mine.end());
      cpu_ns += ThreadCpuNs() - cpu_start;
    });
  }
  for (auto& t : pool) t.join();
  REPRISE_RETURN_IF_ERROR((agent)->Flush());
  const double n = static_cast<double>(total.load());
  if (failed) return Unavailable("some records failed");
  return AgentRun{.rate = n / Elapsed(start),
                  .caller_cpu_ns = static_cast<double>(cpu_ns.load()) / n,
                  .call = Summarize(samples)};
}

}  // namespace

void RunThroughput(const Settings& s, Report& r, double* async_rate) {
  const uint64_t rows = s.Count(10000000, 1000000, 20000);
  int64_t end_ms = 0;
  auto built = Fixture(s, rows, &end_ms);
  auto fixture = built.ok() ? WorkingCopy(s, *built) : built;
  if (!fixture.ok()) {
    std::fprintf(stderr, "bench: fixture: %s\n", fixture.status().ToString().c_str());
    return;
  }
  const std::string on = "on " + std::to_string(rows / 1000000 ? rows / 1000000 : rows) +
                         (rows >= 1000000 ? "M" : "") + " messages";
  const double seconds = s.Seconds(20, 5, 0.5);
  const uint64_t keys = rows / 10;

  // The raw limit first, then each mode, all appending to one copy of the
  // fixture, so that every run starts from the same file.
  auto raw = RawRate(*fixture, seconds, keys);
  if (!raw.ok()) {
    std::fprintf(stderr, "bench: raw inserts: %s\n", raw.status().ToString().c_str());
    RemoveJournal(*fixture);
    return;
  }
  r.Add({.section = "throughput", .name = "raw prepared INSERTs, 10k per transaction, " + on,
         .unit = "msg/s", .value = *raw});
  for (bool sync : {false, true}) {
    auto floor = FileRate(*fixture, seconds, keys, sync);
    if (!floor.ok()) {
      std::fprintf(stderr, "bench: floor: %s\n", floor.status().ToString().c_str());
      continue;
    }
    r.Add({.section = "throughput",
           .name = std::string("floor: the rows' bytes appended to a plain file, 1 MiB write(2)s") +
                   (sync ? ", fdatasync per 4096 rows" : ""),
           .unit = "msg/s",
           .value = *floor});
  }

  struct Mode {
    Durability durability;
    int callers;
    std::string target;
    double min_rate;
    double min_ratio;
  };
  const Mode modes[] = {
      {Durability::kAsync, 1, ">= 150,000 msg/s and >= 0.8 x raw", 150000, 0.8},
      // Against async's rate in this run, not raw's: min_ratio applies to it.
      {Durability::kProcess, 16, ">= 150,000 msg/s and >= 0.9 x async", 150000, 0.9},
      {Durability::kPower, 16, "", 0, 0},
  };
  double async_cpu_ns = NAN, async_rate_here = NAN;
  Latencies async_call;
  for (const Mode& m : modes) {
    auto run = AgentRate(*fixture, m.durability, m.callers, seconds, keys);
    if (!run.ok()) {
      std::fprintf(stderr, "bench: %s: %s\n", std::string(DurabilityName(m.durability)).c_str(),
                   run.status().ToString().c_str());
      continue;
    }
    const std::string mode = std::string(DurabilityName(m.durability)) + ", " + std::to_string(m.callers) +
                             (m.callers == 1 ? " caller" : " callers");
    if (m.durability == Durability::kAsync) {
      if (async_rate) *async_rate = run->rate;
      async_cpu_ns = run->caller_cpu_ns;
      async_rate_here = run->rate;
      async_call = run->call;
    }
    Figure f{.section = "throughput",
             .name = mode + ", " + on,
             .unit = "msg/s",
             .value = run->rate,
             .baseline = *raw,
             .baseline_name = "raw INSERTs",
             .target = m.target};
    const double ratio_to = m.durability == Durability::kProcess ? async_rate_here : *raw;
    if (!m.target.empty()) f.met = run->rate >= m.min_rate && run->rate / ratio_to >= m.min_ratio;
    if (m.durability == Durability::kProcess) {
      f.baseline = async_rate_here;
      f.baseline_name = "async, 1 caller";
    }
    r.Add(f);
    if (m.durability != Durability::kPower) {
      // The record call's latency: process (into the intent log) beside async.
      const bool process = m.durability == Durability::kProcess;
      for (bool p99 : {false, true}) {
        Figure call{.section = "throughput",
                    .name = mode + ": record call " + (p99 ? "p99" : "p50"),
                    .unit = "us",
                    .value = (p99 ? run->call.p99 : run->call.p50) / 1000};
        if (process) {
          call.baseline = (p99 ? async_call.p99 : async_call.p50) / 1000;
          call.baseline_name = "async caller";
          call.target = p99 ? "<= 20 us" : "<= 2 us";
          call.met = call.value <= (p99 ? 20 : 2);
        }
        r.Add(call);
      }
    }
    // What the host pays: a synchronous caller's CPU per record includes
    // its wait for the commit, against an async caller's.
    Figure cpu{.section = "throughput",
               .name = mode + ": CPU of the calling threads per record",
               .unit = "ns",
               .value = run->caller_cpu_ns};
    if (m.durability != Durability::kAsync) {
      cpu.baseline = async_cpu_ns;
      cpu.baseline_name = "async caller";
    }
    r.Add(cpu);
  }
  RemoveJournal(*fixture);
}

}  // namespace reprise::bench
