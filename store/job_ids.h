// What both journal backends share about jobs: ids (small integers, shown
// as text) and which claimable items a claim takes. Internal to store/.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "reprise/store/job.h"
#include "reprise/base/status.h"

namespace reprise {

// Job ids are small integers; anything else cannot name a job.
inline std::optional<int64_t> ParseJobId(std::string_view id) {
  if (id.empty() || id.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
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

inline Status JobNotFound(std::string_view id) {
  return NotFound("job " + std::string(id) + " does not exist; list jobs with `jobs`");
}

}  // namespace reprise
