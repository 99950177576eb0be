// What both journal backends share about jobs: ids, the columns a job is
// read from, the direction a target selects and which claimable items a
// claim takes. Internal to store/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "reprise/base/status.h"
#include "reprise/store/job.h"

namespace reprise {

// The columns of `jobs` both backends' ReadJob read, in order.
inline constexpr const char* kJobColumns =
    "id, kind, filter, target, rate, concurrency, max_failures, item_limit, reason, created_by, "
    "instance, state, end_reason, total, done, failed, redelivered, created_at, finished_at, service, "
    "deriver, dry_run, changed";
// Messages a job's plan shows as its sample.
inline constexpr size_t kJobSampleSize = 5;

// The direction of the messages a reflow to `t` selects (a re-derive
// selects both).
inline Direction TargetDirection(ReflowTarget t) {
  return t == ReflowTarget::kDownstream ? Direction::kOut : Direction::kIn;
}

// Which part of what a job's filter matches a selection query returns:
// what the job replays, or one that a dry run reports as left out.
enum class SelectionPart { kReplayed, kOtherDirection, kResolved, kOlder };

// Whether a job leaves resolved messages out: a reflow does unless told
// otherwise; a migration (every input of its keys) and a re-derive do not.
inline bool LeavesResolvedOut(const JobSpec& spec) { return spec.kind == kReflowJob && !spec.include_resolved; }

// The condition SelectionFor adds for `part` beyond its filter, "" for
// none; `never` is the dialect's false.
inline std::string PartCondition(const JobSpec& spec, SelectionPart part, std::string_view never) {
  if (part == SelectionPart::kOlder && !spec.latest_per_key) return " AND " + std::string(never);
  if (!LeavesResolvedOut(spec)) return part == SelectionPart::kResolved ? " AND " + std::string(never) : "";
  return part == SelectionPart::kResolved ? " AND resolved_by IS NOT NULL" : " AND resolved_by IS NULL";
}

// The filter text SelectionFor compiles for `part`: with latest_per_key,
// the spec's filter and `latest` (kOlder: and `not latest`).
inline std::string PartFilter(const JobSpec& spec, SelectionPart part) {
  if (!spec.latest_per_key) return spec.filter;
  const std::string latest = part == SelectionPart::kOlder ? "not latest" : "latest";
  if (spec.filter.find_first_not_of(" \t\r\n") == std::string::npos) return latest;
  return "(" + spec.filter + ") and " + latest;
}

// Of the claimable items (pending, their key free), in selection order and
// given by their keys, the indexes a claim takes: at most claim.max, from at
// most ceil(keys / claim.share) keys in order of first appearance. With a
// share of 1 only the first claim.max are read.
inline std::vector<size_t> ClaimShare(const std::vector<std::string>& keys, const ItemClaim& claim) {
  std::vector<size_t> taken;
  if (claim.share <= 1) {
    for (size_t i = 0; i < keys.size() && i < claim.max; ++i) taken.push_back(i);
    return taken;
  }
  const size_t distinct = std::unordered_set<std::string_view>(keys.begin(), keys.end()).size();
  const size_t budget = std::max<size_t>(1, (distinct + claim.share - 1) / claim.share);
  std::unordered_set<std::string_view> mine;
  for (size_t i = 0; i < keys.size() && taken.size() < claim.max; ++i) {
    if (!mine.count(keys[i])) {
      if (mine.size() >= budget) continue;
      mine.insert(keys[i]);
    }
    taken.push_back(i);
  }
  return taken;
}

// CreateJob of a pinned selection that no longer counts what its dry run did.
inline Status SelectionChanged(uint64_t counted, uint64_t now) {
  return FailedPrecondition("the selection changed since the dry run: it counted " + std::to_string(counted) +
                            ", now " + std::to_string(now) +
                            " match (outcomes changed among the messages it covered); run the dry run again");
}

inline Status JobNotFound(std::string_view id) {
  return NotFound("job " + std::string(id) + " does not exist; list jobs with `jobs`");
}

// The number of the job `id` names: job ids are small integers, shown as
// text, and anything else names no job (JobNotFound).
inline StatusOr<int64_t> JobNumber(std::string_view id) {
  if (id.empty() || id.size() > 18) return JobNotFound(id);
  int64_t v = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return JobNotFound(id);
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace reprise
