// Paces deliveries to a steady rate, shared by a job's parallel lanes.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>

namespace reprise {

// Strict pacing, no bursts: slot i is at start + i/rate. An idle limiter does
// not save up slots, so a job never runs ahead of its rate. Thread-safe.
class RateLimiter {
 public:
  explicit RateLimiter(double per_second);  // <= 0: unlimited
  // Waits for the next slot. Returns false, early, once `cancelled` is set.
  bool Acquire(const std::atomic<bool>& cancelled);
  // Changes the rate for the slots not handed out yet (a fleet's share).
  void SetRate(double per_second);

 private:
  using Clock = std::chrono::steady_clock;
  static Clock::duration Interval(double per_second);
  Clock::duration interval_;  // guarded by mu_
  std::mutex mu_;
  Clock::time_point next_;  // guarded by mu_
};

}  // namespace reprise
