// Wall-clock time in microseconds since the Unix epoch: how the journal's
// time columns, the fleet's heartbeats and the console's ages count time.
#pragma once

#include <chrono>
#include <cstdint>

namespace reprise {

// Now, in microseconds since the Unix epoch.
inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace reprise
