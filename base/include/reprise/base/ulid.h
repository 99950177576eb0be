// Message ids: ULIDs (48-bit millisecond time + 80 random bits, Crockford
// base32, 26 characters). They sort by record time as plain strings, so keyset
// paging and time ranges can use the id index, and they are unique across a
// fleet without coordination.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "reprise/base/export.h"

namespace reprise {

// Generates strictly increasing ULIDs within one process, even when the clock
// stands still or steps back. Thread-safe.
class REPRISE_EXPORT UlidGenerator {
 public:
  UlidGenerator();
  // A new id for a record made at `unix_ms`.
  std::string Next(int64_t unix_ms);

 private:
  std::mutex mu_;
  int64_t last_ms_ = 0;   // guarded by mu_
  uint64_t rand_hi_ = 0;  // 16 bits used; guarded by mu_
  uint64_t rand_lo_ = 0;  // 64 bits; guarded by mu_
};

// The smallest ULID whose time is `unix_ms`: every id recorded at or after
// that millisecond sorts >= this string.
REPRISE_EXPORT std::string UlidLowerBound(int64_t unix_ms);
// The millisecond time encoded in a ULID, or -1 if `id` is not a ULID.
REPRISE_EXPORT int64_t UlidTimeMs(std::string_view id);
REPRISE_EXPORT bool IsUlid(std::string_view id);

}  // namespace reprise
