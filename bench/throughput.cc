// Sustained journal throughput per durability mode, on a journal that already
// holds millions of messages, against the raw limit measured in the same run:
// prepared INSERTs of the same rows into the same file (same schema and
// indexes) in large transactions, in a tight loop, merging key runs as the
// journal does.
#include <time.h>

#include <atomic>
#include <cmath>
#include <cstdint>
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

// CPU time of the calling thread so far, in nanoseconds.
int64_t ThreadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

struct AgentRun {
  double rate = 0;            // messages/s, counted until everything is committed (Flush)
  double caller_cpu_ns = 0;   // CPU of the calling threads per record, waits included
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
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int c = 0; c < callers; ++c) {
    pool.emplace_back([&, c] {
      RowSource src(256, keys, 100 + c);
      const int64_t cpu_start = ThreadCpuNs();
      uint64_t n = 0;
      while ((n & 63) != 0 || Elapsed(start) < seconds) {
        auto id = (agent)->RecordInbound(src.Channel(n), src.Key(), src.Payload(n),
                                          {.content_type = "application/json"});
        if (!id.ok()) failed = true;
        ++n;
      }
      total += n;
      cpu_ns += ThreadCpuNs() - cpu_start;
    });
  }
  for (auto& t : pool) t.join();
  REPRISE_RETURN_IF_ERROR((agent)->Flush());
  const double n = static_cast<double>(total.load());
  if (failed) return Unavailable("some records failed");
  return AgentRun{.rate = n / Elapsed(start), .caller_cpu_ns = static_cast<double>(cpu_ns.load()) / n};
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

  struct Mode {
    Durability durability;
    int callers;
    std::string target;
    double min_rate;
    double min_ratio;
  };
  const Mode modes[] = {
      {Durability::kAsync, 1, ">= 150,000 msg/s and >= 0.8 x raw", 150000, 0.8},
      {Durability::kProcess, 16, ">= 100,000 msg/s", 100000, 0},
      {Durability::kPower, 16, "", 0, 0},
  };
  double async_cpu_ns = NAN;
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
    }
    Figure f{.section = "throughput",
             .name = mode + ", " + on,
             .unit = "msg/s",
             .value = run->rate,
             .baseline = *raw,
             .baseline_name = "raw INSERTs",
             .target = m.target};
    if (!m.target.empty()) f.met = run->rate >= m.min_rate && run->rate / *raw >= m.min_ratio;
    r.Add(f);
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
