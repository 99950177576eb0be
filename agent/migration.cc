#include "migration.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace reprise {
namespace {

std::string Rfc3339(int64_t unix_us) {
  std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(unix_us % 1000000));
  return std::string(buf) + frac;
}

// The keys a migration moves. For a rollout, the keys seen since
// `reflow_since` (or ever) whose variant the new percentage changes.
StatusOr<std::vector<std::string>> SelectKeys(const MigrationRequest& r, Journal& journal,
                                              const FlowRecord& flow) {
  int modes = (!r.keys.empty()) + (!r.filter.empty()) + (r.percent >= 0);
  if (modes != 1) {
    return InvalidArgument("migrate: give exactly one of keys, a filter or a percentage");
  }
  if (!r.keys.empty()) {
    if (r.keys.size() > kMaxMigrationKeys) {
      return InvalidArgument("migrate: more than " + std::to_string(kMaxMigrationKeys) +
                             " keys; migrate by percentage instead");
    }
    return r.keys;
  }
  if (!r.filter.empty()) return journal.Keys(r.filter, kMaxMigrationKeys);

  if (r.percent > 100) return InvalidArgument("migrate: percent must be within 0..100");
  std::string seen = r.reflow_since_us >= 0 ? "recorded >= " + Rfc3339(r.reflow_since_us) : "";
  REPRISE_ASSIGN_OR_RETURN(auto candidates, journal.Keys(seen, 10 * kMaxMigrationKeys));
  FlowSnapshot before{.record = flow};
  REPRISE_ASSIGN_OR_RETURN(auto all, journal.flows().AllAssignments(flow.name));
  before.assignments = std::move(all);
  FlowSnapshot after = before;
  after.record.rollout = {r.variant, r.percent};
  std::vector<std::string> moved;
  for (const std::string& key : candidates) {
    if (ResolveFlow(before, key) != r.variant && ResolveFlow(after, key) == r.variant) {
      moved.push_back(key);
    }
  }
  return moved;
}

}  // namespace

StatusOr<MigrationResult> Migrate(const MigrationRequest& r, FlowRegistry& flows,
                                  Journal& journal, ReflowEngine& engine) {
  REPRISE_ASSIGN_OR_RETURN(auto flow, journal.flows().Get(r.flow));
  if (std::find(flow.variants.begin(), flow.variants.end(), r.variant) == flow.variants.end()) {
    std::string list;
    for (const auto& v : flow.variants) list += (list.empty() ? "" : ", ") + v;
    return InvalidArgument("migrate: flow " + r.flow + " has no variant \"" + r.variant +
                           "\"; its variants are " + list);
  }
  REPRISE_ASSIGN_OR_RETURN(auto keys, SelectKeys(r, journal, flow));

  MigrationResult result;
  result.keys = std::move(keys);
  JobSpec spec{.kind = std::string(kMigrationJob),
               .filter = "recorded >= " + Rfc3339(std::max<int64_t>(r.reflow_since_us, 0)),
               .target = ReflowTarget::kSelf,
               .rate = r.rate,
               .concurrency = r.concurrency,
               .reason = r.reason.empty() ? "migrate " + r.flow + " to " + r.variant : r.reason,
               .created_by = r.who,
               .keys = result.keys,
               .originals_only = true};
  const bool reflow = r.reflow_since_us >= 0 && !result.keys.empty();
  if (reflow) {
    REPRISE_ASSIGN_OR_RETURN(auto plan, engine.DryRun(spec));
    result.messages = plan.messages;
  }
  if (r.dry_run) return result;

  FlowChange change{.flow = r.flow, .who = r.who, .reason = spec.reason};
  if (r.percent >= 0) {
    change.rollout = FlowRollout{r.variant, r.percent};
  } else {
    for (const std::string& k : result.keys) change.assign[k] = r.variant;
  }
  if (change.assign.empty() && !change.rollout) {
    return FailedPrecondition("migrate: no key matches; nothing to move");
  }
  // The flip first, then the reflow: the replayed messages resolve the new
  // variant when the handler asks.
  REPRISE_ASSIGN_OR_RETURN(auto record, flows.Set(change));
  result.flow_version = record.version;
  if (reflow) {
    auto job = engine.Start(spec);
    if (!job.ok()) return job.status().WithPrefix("the keys moved (version " +
                                                  std::to_string(record.version) +
                                                  ") but their reflow did not start");
    result.job = std::move(*job);
  }
  return result;
}

}  // namespace reprise
