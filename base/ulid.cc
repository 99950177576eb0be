#include "reprise/base/ulid.h"

#include <random>

namespace reprise {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int CrockfordValue(char c) {
  for (int i = 0; i < 32; ++i) {
    if (kCrockford[i] == c) return i;
  }
  return -1;
}

// 128 bits as hi (top 64) and lo: 48-bit time | 80-bit randomness.
std::string Encode(uint64_t hi, uint64_t lo) {
  std::string out(26, '0');
  // Emit 5 bits at a time from the least significant end; 26*5 = 130 bits,
  // the top 2 bits are always zero.
  for (int i = 25; i >= 0; --i) {
    out[i] = kCrockford[lo & 31];
    lo = (lo >> 5) | (hi << 59);
    hi >>= 5;
  }
  return out;
}

}  // namespace

UlidGenerator::UlidGenerator() {
  std::random_device rd;
  rand_hi_ = rd() & 0xFFFF;
  rand_lo_ = (uint64_t{rd()} << 32) | rd();
}

std::string UlidGenerator::Next(int64_t unix_ms) {
  uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (unix_ms > last_ms_) {
      // New millisecond: fresh randomness, but keep the top bit clear so that
      // increments within the millisecond never overflow into the time.
      thread_local std::mt19937_64 rng{std::random_device{}()};
      last_ms_ = unix_ms;
      rand_hi_ = rng() & 0x7FFF;
      rand_lo_ = rng();
    } else {
      // Same or earlier millisecond (clock stood still or stepped back):
      // increment so ids stay strictly increasing.
      if (++rand_lo_ == 0) rand_hi_ = (rand_hi_ + 1) & 0xFFFF;
    }
    hi = (static_cast<uint64_t>(last_ms_) << 16) | rand_hi_;
    lo = rand_lo_;
  }
  return Encode(hi, lo);
}

std::string UlidLowerBound(int64_t unix_ms) {
  if (unix_ms < 0) unix_ms = 0;
  return Encode(static_cast<uint64_t>(unix_ms) << 16, 0);
}

bool IsUlid(std::string_view id) {
  if (id.size() != 26 || id[0] > '7') return false;
  for (char c : id) {
    if (CrockfordValue(c) < 0) return false;
  }
  return true;
}

int64_t UlidTimeMs(std::string_view id) {
  if (!IsUlid(id)) return -1;
  int64_t ms = 0;
  for (int i = 0; i < 10; ++i) ms = (ms << 5) | CrockfordValue(id[i]);
  return ms;
}

}  // namespace reprise
