// Retention under steady traffic: the recording rate with a size policy that
// keeps the retention task busy, against the same run without retention, and
// whether the SQLite file stops growing once the policy is reached.
#include <sys/stat.h>

#include <cmath>
#include <cstdint>

#include "bench.h"
#include "reprise/agent/agent.h"

namespace reprise::bench {
namespace {

// The journal file with its WAL (not checkpointed yet, it holds the newest pages).
uint64_t FileBytes(const std::string& path) {
  uint64_t n = 0;
  for (const std::string& f : {path, path + "-wal"}) {
    struct stat st {};
    if (stat(f.c_str(), &st) == 0) n += static_cast<uint64_t>(st.st_size);
  }
  return n;
}

struct Run {
  double rate = 0;           // messages/s recorded and committed
  uint64_t half_bytes = 0;   // the file's size halfway through
  uint64_t end_bytes = 0;    // and at the end
  uint64_t removed = 0;
};

// Records `n` messages as fast as one async caller can, in `rounds` rounds
// with a Flush after each; `retain_bytes` 0 turns retention off.
StatusOr<Run> Record(const Settings& s, const std::string& name, uint64_t n, uint64_t retain_bytes) {
  const std::string path = Scratch(s, name);
  AgentOptions options{.service = "bench", .journal = "sqlite:" + path, .listen = "",
                       .retain_for = std::chrono::seconds(0), .retain_bytes = retain_bytes,
                       .retention_every = std::chrono::milliseconds(200),
                       .log_level = LogLevel::kWarning};
  REPRISE_ASSIGN_OR_RETURN(auto agent, Agent::Start(options));
  RowSource src(256, 10000, 7);
  Run run;
  const auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    REPRISE_RETURN_IF_ERROR(agent->RecordInbound(src.Channel(i), src.Key(), src.Payload(i)).status());
    if (i == n / 2) {
      REPRISE_RETURN_IF_ERROR(agent->Flush());
      run.half_bytes = FileBytes(path);
    }
  }
  REPRISE_RETURN_IF_ERROR(agent->Flush());
  run.rate = static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - start).count();
  run.end_bytes = FileBytes(path);
  run.removed = agent->Stats().retention.removed;
  agent.reset();
  RemoveJournal(path);
  return run;
}

}  // namespace

void RunRetention(const Settings& s, Report& r) {
  const uint64_t n = s.Count(2'000'000, 400'000, 40'000);
  const uint64_t bound = s.Count(64u << 20, 16u << 20, 2u << 20);
  auto without = Record(s, "retention-off", n, 0);
  auto with = Record(s, "retention-on", n, bound);
  if (!without.ok() || !with.ok()) {
    r.Add({.section = "retention", .name = "recording with retention",
           .note = "not measured: " + (!without.ok() ? without.status() : with.status()).ToString()});
    return;
  }
  const std::string what = std::to_string(n) + " records, one async caller";
  r.Add({.section = "retention", .name = "recording, no retention, " + what, .unit = "msg/s",
         .value = without->rate});
  Figure f{.section = "retention",
           .name = "recording with a " + std::to_string(bound >> 20) + " MiB size policy, " + what,
           .unit = "msg/s",
           .value = with->rate,
           .baseline = without->rate,
           .baseline_name = "no retention",
           .target = ">= 0.8x",
           .note = std::to_string(with->removed) + " removed"};
  f.met = with->rate >= 0.8 * without->rate;
  r.Add(f);
  Figure growth{.section = "retention",
                .name = "SQLite file and WAL at the end against halfway, with the size policy",
                .unit = "bytes",
                .value = static_cast<double>(with->end_bytes),
                .baseline = static_cast<double>(with->half_bytes),
                .baseline_name = "halfway",
                .target = "<= 1.1x",
                .note = "without retention: " + std::to_string(without->half_bytes) + " -> " +
                        std::to_string(without->end_bytes) + " bytes"};
  growth.met = with->end_bytes <= 1.1 * static_cast<double>(with->half_bytes);
  r.Add(growth);
}

}  // namespace reprise::bench
