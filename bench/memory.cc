// Memory under overload: a host process (a child of the driver, so that
// nothing else lives in its heap) records ten times faster than its journal
// writes; its resident memory must stay within the recorder's configured
// bound, with drops or blocking as the policy says.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench.h"
#include "reprise/agent/agent.h"

extern char** environ;

namespace reprise::bench {
namespace {
constexpr size_t kBound = 16u << 20;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

// argv: --overload-child POLICY DIR SECONDS
int OverloadChild(int argc, char** argv) {
  if (argc < 5) return 2;
  const auto policy = ParseOverloadPolicy(argv[2]);
  if (!policy) return 2;
  Settings s{.dir = argv[3]};
  const double seconds = std::atof(argv[4]);
  auto agent = Agent::Start({.service = "bench",
                             .journal = "sqlite:" + Scratch(s, std::string("overload-") + argv[2] + ".journal"),
                             .listen = "",
                             .overload = *policy,
                             .max_queue_bytes = kBound});
  if (!agent.ok()) {
    std::fprintf(stderr, "bench: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  // Warm up until SQLite's page caches (2 MiB per connection, outside the
  // recorder's bound) are full, so that the growth measured is the
  // recorder's: 30,000 messages are ~12 MB of journal.
  RowSource src(256, 100000, 11);
  for (int i = 0; i < 30000; ++i) (void)(*agent)->RecordInbound("bench.c0", src.Key(), src.Payload(i));
  (void)(*agent)->Flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t baseline = RssBytes();

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> peak{baseline};
  std::thread sampler([&] {
    while (!stop) {
      uint64_t rss = RssBytes();
      if (rss > peak) peak = rss;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });

  // Calibrate: the journal's own write rate while producers run flat out.
  std::atomic<double> offered_rate{0};  // 0: flat out
  std::atomic<uint64_t> attempts{0};
  std::atomic<bool> producing{true};
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      RowSource mine(256, 100000, 20 + t);
      std::vector<std::string> keys;
      for (int k = 0; k < 1024; ++k) keys.push_back(mine.Key());
      uint64_t n = 0;
      auto start = Clock::now();
      double pace = 0;
      while (producing) {
        double want = offered_rate.load();
        if (want != pace) {  // the measured phase begins: restart the pacing clock
          pace = want;
          start = Clock::now();
          n = 0;
        }
        if (pace > 0 && n % 64 == 0) {
          std::this_thread::sleep_until(
              start + std::chrono::nanoseconds(static_cast<int64_t>(1e9 * static_cast<double>(n) / (pace / 2))));
        }
        (void)(*agent)->RecordInbound("bench.c1", keys[n % keys.size()], mine.Payload(n));
        ++n;
        attempts.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  uint64_t c0 = (*agent)->Stats().recording.committed;
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const double journal_rate =
      static_cast<double>((*agent)->Stats().recording.committed - c0) / Since(t0);

  // Measure: offer ten times the journal's rate.
  offered_rate = 10 * journal_rate;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const uint64_t a0 = attempts.load();
  const AgentStats s0 = (*agent)->Stats();
  t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)));
  const double offered = static_cast<double>(attempts.load() - a0) / Since(t0);
  const AgentStats s1 = (*agent)->Stats();
  producing = false;
  for (auto& p : producers) p.join();
  stop = true;
  sampler.join();
  std::printf("%llu %llu %llu %.0f %.0f %llu %llu\n",
              static_cast<unsigned long long>(peak.load() - baseline),
              static_cast<unsigned long long>(peak.load()),
              static_cast<unsigned long long>(kBound), offered, journal_rate,
              static_cast<unsigned long long>(s1.recording.dropped - s0.recording.dropped),
              static_cast<unsigned long long>(s1.recording.recorded - s0.recording.recorded));
  std::fflush(stdout);
  return 0;
}

void RunMemory(const Settings& s, Report& r, double) {
  for (const char* policy : {"drop", "block"}) {
    const std::string seconds = std::to_string(s.Seconds(10, 3, 1));
    const std::string out_path = s.dir + "/scratch/overload-" + policy + ".out";
    std::vector<std::string> args = {s.self, "--overload-child", policy, s.dir, seconds};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, s.self.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc != 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "bench: overload child (%s) failed\n", policy);
      continue;
    }
    std::ifstream in(out_path);
    unsigned long long growth = 0, peak = 0, bound = 0, dropped = 0, accepted = 0;
    double offered = 0, journal = 0;
    if (!(in >> growth >> peak >> bound >> offered >> journal >> dropped >> accepted)) {
      std::fprintf(stderr, "bench: overload child (%s) printed nothing\n", policy);
      continue;
    }
    std::ostringstream note;
    note.precision(3);
    note << "offered " << offered / journal << "x the journal's " << static_cast<uint64_t>(journal)
         << " msg/s; accepted " << accepted << ", dropped " << dropped << "; peak RSS "
         << peak / (1024 * 1024) << " MiB";
    r.Add({.section = "memory",
           .name = std::string("RSS growth under 10x overload, policy ") + policy,
           .unit = "bytes",
           .value = static_cast<double>(growth),
           .baseline = static_cast<double>(bound),
           .baseline_name = "max_queue_bytes",
           .target = "<= the bound",
           .met = growth <= bound,
           .note = note.str()});
  }
}

}  // namespace reprise::bench
