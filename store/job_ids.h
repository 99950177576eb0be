// Job ids as both journal backends store them: small integers, shown as text.
// Internal to store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "reprise/store/status.h"

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

inline Status JobNotFound(std::string_view id) {
  return NotFound("job " + std::string(id) + " does not exist; list jobs with `jobs`");
}

}  // namespace reprise
