#include "rate_limiter.h"

#include <algorithm>
#include <thread>

namespace reprise {

RateLimiter::Clock::duration RateLimiter::Interval(double per_second) {
  return per_second > 0 ? std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(1.0 / per_second))
                        : Clock::duration::zero();
}

RateLimiter::RateLimiter(double per_second) : interval_(Interval(per_second)) {}

void RateLimiter::SetRate(double per_second) {
  std::lock_guard<std::mutex> lock(mu_);
  interval_ = Interval(per_second);
}

bool RateLimiter::Acquire(const std::atomic<bool>& cancelled) {
  Clock::time_point slot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (interval_ == Clock::duration::zero()) return !cancelled.load();
    slot = std::max(next_, Clock::now());
    next_ = slot + interval_;
  }
  // Sleep in short steps so that a cancel is seen within a second even at
  // very low rates.
  constexpr auto kStep = std::chrono::milliseconds(50);
  while (true) {
    if (cancelled.load()) return false;
    auto now = Clock::now();
    if (now >= slot) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(slot - now, kStep));
  }
}

}  // namespace reprise
