// The journal's clock: microseconds since the Unix epoch, as every time
// column of the journal holds them. Internal to store/.
#pragma once

#include <chrono>
#include <cstdint>

namespace reprise {

inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace reprise
