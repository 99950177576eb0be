// LatencyHistogram: how long something took, counted in fixed buckets of
// seconds, as Prometheus histograms expose it. A plain value: its owner
// guards it (the recorder fills one under its lock; Stats() copies it).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace reprise {

struct LatencyHistogram {
  // Upper bounds, in seconds, from a fast local commit to a stuck one.
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   0.25,   1};
  // counts[i]: observations in (kBounds[i-1], kBounds[i]]; the last, above every bound.
  std::array<uint64_t, kBounds.size() + 1> counts{};
  double sum_seconds = 0;

  void Add(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts[i];
    sum_seconds += seconds;
  }
  uint64_t total() const {
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    return n;
  }
};

}  // namespace reprise
