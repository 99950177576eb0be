// Capture on the host's thread: how long Agent::RecordInbound keeps the
// caller, against copying the payload into a preallocated buffer (the floor)
// and a synchronous prepared INSERT per message (what people write by hand).
#include <cstring>
#include <mutex>
#include <thread>

#include "bench.h"
#include "reprise/agent/agent.h"
#include "reprise/store/journal.h"

namespace reprise::bench {
namespace {

// Calls fn(thread, i) `per_thread` times on each of `threads` threads and
// times every call. Callers are paced in bursts of 64 at `rate` calls/s per
// thread, like a busy host, rather than flat out (which would only measure
// the overload policy). The first 2% of each thread's calls warm up.
template <typename Fn>
Latencies TimeCalls(int threads, size_t per_thread, double rate, Fn&& fn) {
  std::vector<std::vector<double>> samples(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& mine = samples[t];
      mine.reserve(per_thread);
      const size_t warmup = per_thread / 50;
      const auto start = Clock::now();
      for (size_t i = 0; i < per_thread; ++i) {
        if (i % 64 == 0) {
          std::this_thread::sleep_until(
              start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(i) / rate)));
        }
        auto t0 = Clock::now();
        fn(t, i);
        auto t1 = Clock::now();
        if (i >= warmup) mine.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<double> all;
  for (auto& v : samples) all.insert(all.end(), v.begin(), v.end());
  return Summarize(all);
}

}  // namespace

void RunCapture(const Settings& s, Report& r) {
  const size_t per_thread = s.Count(200000, 40000, 3000);
  const double rate = 20000;  // calls/s per thread
  // What timing itself costs (two clock reads around an empty call): part
  // of every latency below, reported so the floor can be read against it.
  {
    Latencies empty = TimeCalls(1, per_thread, rate, [](int, size_t i) {
      asm volatile("" : : "r"(i) : "memory");
    });
    r.Add({.section = "capture", .name = "timer overhead (empty call), p50", .unit = "ns",
           .value = empty.p50});
  }
  for (size_t bytes : {size_t{256}, size_t{4096}}) {
    for (int threads : {1, 2}) {
      RowSource src(bytes, 100000, 1);
      std::vector<std::string> keys;
      for (int k = 0; k < 1024; ++k) keys.push_back(src.Key());
      const std::string label = std::to_string(bytes) + " B, " + std::to_string(threads) +
                                (threads == 1 ? " thread" : " threads");

      // Floor: the payload copied into a preallocated buffer.
      std::vector<std::vector<char>> buffers(threads, std::vector<char>(bytes * 64));
      Latencies floor = TimeCalls(threads, per_thread, rate, [&](int t, size_t i) {
        char* dst = buffers[t].data() + (i % 64) * bytes;
        std::memcpy(dst, src.Payload(i).data(), bytes);
        asm volatile("" : : "r"(dst) : "memory");  // keep the copy
      });

      // By hand: a prepared INSERT per message, autocommit, on the caller's
      // thread; one connection shared under a mutex (SQLite has one writer).
      Latencies insert;
      {
        const std::string path = Scratch(s, "capture-insert.journal");
        { (void)Journal::Open("sqlite:" + path); }
        auto raw = RawInserter::Open(path);
        if (!raw.ok()) {
          std::fprintf(stderr, "bench: %s\n", raw.status().ToString().c_str());
          return;
        }
        UlidGenerator ids;
        std::mutex mu;
        insert = TimeCalls(threads, per_thread / 4, rate, [&](int, size_t i) {
          Message m;
          m.direction = Direction::kIn;
          m.channel = "payments.received";
          m.key = keys[i % keys.size()];
          m.payload = src.Payload(i);
          m.content_type = "application/json";
          Stamp(m, ids);
          std::lock_guard<std::mutex> lock(mu);
          (void)(*raw)->Insert(m);
        });
      }

      // Reprise: Agent::RecordInbound, async durability (the default).
      Latencies record;
      {
        auto agent = Agent::Start({.service = "bench",
                                   .journal = "sqlite:" + Scratch(s, "capture.journal"),
                                   .listen = ""});
        if (!agent.ok()) {
          std::fprintf(stderr, "bench: %s\n", agent.status().ToString().c_str());
          return;
        }
        record = TimeCalls(threads, per_thread, rate, [&](int, size_t i) {
          (void)(*agent)->RecordInbound("payments.received", keys[i % keys.size()], src.Payload(i));
        });
        (void)(*agent)->Flush();
      }

      const bool targeted = bytes == 256;
      auto add = [&](const char* pct, double value, double floor_v, double insert_v, const char* target,
                     double limit) {
        Figure f{.section = "capture",
                 .name = std::string("record ") + pct + ", " + label,
                 .unit = "ns",
                 .value = value,
                 .baseline = insert_v,
                 .baseline_name = "sync INSERT"};
        if (targeted && target) {
          f.target = target;
          f.met = value <= limit;
        }
        char note[64];
        std::snprintf(note, sizeof note, "floor (memcpy) %.0f ns", floor_v);
        f.note = note;
        r.Add(f);
        r.Add({.section = "capture",
               .name = std::string("record ") + pct + ", " + label + " vs floor",
               .unit = "ns",
               .value = value,
               .baseline = floor_v,
               .baseline_name = "memcpy floor"});
      };
      add("p50", record.p50, floor.p50, insert.p50, "<= 200 ns", 200);
      add("p99", record.p99, floor.p99, insert.p99, "<= 2 µs", 2000);
      add("p99.9", record.p999, floor.p999, insert.p999, nullptr, 0);
    }
  }
}

}  // namespace reprise::bench
