#include "reprise/base/duration.h"

#include <cstdint>
#include <limits>

namespace reprise {

StatusOr<std::chrono::microseconds> ParseDuration(std::string_view text) {
  auto too_long = [&] {
    return Status(StatusCode::kOutOfRange,
                  "duration \"" + std::string(text) + "\" is too long; the limit is about 292,000 years");
  };
  auto invalid = [&] {
    return InvalidArgument("\"" + std::string(text) +
                           "\" is not a duration; write e.g. 250ms, 2.5s, 5m, 1h, 7d");
  };
  size_t i = 0;
  // Whole and fractional digits, kept exact: 128 bits hold any product below.
  unsigned __int128 whole = 0, fraction = 0, scale = 1;
  size_t digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    if (whole > std::numeric_limits<uint64_t>::max()) return too_long();
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (scale < 1'000'000'000'000'000'000ull) {  // digits past 18 decimals cannot count
        fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
        scale *= 10;
      }
    }
  }
  if (digits == 0) return invalid();
  std::string_view unit = text.substr(i);
  uint64_t us_per;
  if (unit.empty() || unit == "s") us_per = 1'000'000;
  else if (unit == "ms") us_per = 1'000;
  else if (unit == "m") us_per = 60'000'000;
  else if (unit == "h") us_per = 3'600'000'000;
  else if (unit == "d") us_per = 86'400'000'000;
  else return invalid();
  unsigned __int128 us = whole * us_per + fraction * us_per / scale;
  if (us > static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max())) return too_long();
  return std::chrono::microseconds(static_cast<int64_t>(us));
}

}  // namespace reprise
