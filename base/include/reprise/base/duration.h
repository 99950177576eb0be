// Durations as people type them, one grammar everywhere (console --timeout,
// knob arguments, the filter's relative times): a number, decimals allowed,
// and a unit: ms, s, m, h or d; a number alone is seconds. "250ms", "2.5s",
// "5m", "1h", "7d", "10".
#pragma once

#include <chrono>
#include <string_view>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

// The duration `text` writes; INVALID_ARGUMENT for anything else, negative
// durations included, and OUT_OF_RANGE beyond ~292,000 years (what an
// int64 of microseconds holds).
REPRISE_EXPORT StatusOr<std::chrono::microseconds> ParseDuration(std::string_view text);

}  // namespace reprise
