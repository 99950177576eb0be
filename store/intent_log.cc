#include "intent_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace reprise {
namespace {

constexpr uint64_t kMagic = 0x31474f4c544e4952;  // "RINTLOG1"
constexpr size_t kHeaderBytes = 4096;
constexpr uint32_t kWrap = 0xffffffff;  // an entry's size: the rest of the ring is unused
constexpr int kSlots = 8;

struct Head {
  uint32_t crc;  // of the rest of the entry: from `size` to its end
  uint32_t size;  // the whole entry, padded to 8
  uint64_t ticket;
  uint32_t records;
  uint32_t unused;
};
static_assert(sizeof(Head) == IntentLog::kEntryHead);

size_t Padded(size_t n) { return (n + 7) & ~size_t{7}; }

Status Errno(const std::string& what) { return Unavailable(what + ": " + std::strerror(errno)); }

uint32_t Crc32cSoft(uint32_t crc, const unsigned char* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  while (n-- > 0) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cHard(uint32_t crc, const unsigned char* p, size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  crc = static_cast<uint32_t>(c);
  for (; n > 0; --n) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}
#endif

uint32_t EntryCrc(const char* entry, size_t size) { return Crc32c(0, entry + 4, size - 4); }

}  // namespace

uint32_t Crc32c(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
#if defined(__x86_64__)
  static const bool hard = __builtin_cpu_supports("sse4.2");
  if (hard) return ~Crc32cHard(~crc, p, n);
#endif
  return ~Crc32cSoft(~crc, p, n);
}

struct IntentLog::FileHead {
  uint64_t magic;
  uint64_t capacity;
  // Written in this order by Release, so that after a crash between the two
  // the tail is never past what `released` covers.
  std::atomic<uint64_t> released;
  std::atomic<uint64_t> tail;  // offset in the ring
};

IntentLog::FileHead* IntentLog::file_head() const { return reinterpret_cast<FileHead*>(map_); }

StatusOr<std::unique_ptr<IntentLog>> IntentLog::Open(const std::string& path, Recovered* recovered) {
  *recovered = {};
  int fd = -1;
  std::string used;
  for (int slot = 1; slot <= kSlots && fd < 0; ++slot) {
    used = slot == 1 ? path : path + "-" + std::to_string(slot);
    fd = ::open(used.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("opening the intent log " + used);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    return Unavailable("the intent logs " + path + " to " + path + "-" + std::to_string(kSlots) +
                       " are all held by other processes");
  }
  std::unique_ptr<IntentLog> log(new IntentLog(fd, used));
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno("reading the intent log " + used);
  const size_t file_size = static_cast<size_t>(st.st_size);
  if (file_size < sizeof(FileHead)) return log;  // new, or never used
  std::string file(file_size, '\0');
  for (size_t at = 0; at < file_size;) {
    const ssize_t n = pread(fd, file.data() + at, file_size - at, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("reading the intent log " + used);
    at += static_cast<size_t>(n);
  }
  uint64_t magic, capacity, released, tail;
  std::memcpy(&magic, file.data(), 8);
  std::memcpy(&capacity, file.data() + 8, 8);
  std::memcpy(&released, file.data() + 16, 8);
  std::memcpy(&tail, file.data() + 24, 8);
  if (magic != kMagic || capacity == 0 || tail >= capacity) {
    if (magic != kMagic && magic != 0) ++recovered->torn;  // not ours, or its header is damaged
    return log;
  }
  recovered->released = released;
  // From the tail, entries follow one another with consecutive tickets; the
  // first that does not (zeros, a previous lap's, the end of the file) ends
  // the log.
  const size_t ring_end = std::min<size_t>(file_size, kHeaderBytes + capacity);
  uint64_t expect = 0, walked = 0;
  size_t pos = tail;
  while (walked < capacity) {
    if (capacity - pos < kEntryHead) {
      walked += capacity - pos;
      pos = 0;
      continue;
    }
    const size_t at = kHeaderBytes + pos;
    if (at + kEntryHead > ring_end) {
      if (at < ring_end) ++recovered->torn;  // cut within its head
      break;
    }
    Head h;
    std::memcpy(&h, file.data() + at, sizeof h);
    if (h.size == kWrap) {
      if (expect != 0 && h.ticket != expect) break;
      walked += capacity - pos;
      pos = 0;
      continue;
    }
    if (h.size < kEntryHead || h.size % 8 != 0 || h.size > capacity - pos || h.records == 0 ||
        (expect != 0 && h.ticket != expect)) {
      break;
    }
    expect = h.ticket + h.records;
    if (at + h.size > ring_end) {
      ++recovered->torn;  // cut within its records
      break;
    }
    if (expect - 1 > released) {
      if (EntryCrc(file.data() + at, h.size) != h.crc) {
        ++recovered->torn;  // its writer died while writing it: its call never returned
      } else {
        recovered->entries.push_back({h.ticket, h.records, file.substr(at + kEntryHead, h.size - kEntryHead)});
      }
    }
    pos += h.size;
    walked += h.size;
  }
  return log;
}

IntentLog::~IntentLog() {
  if (map_ != nullptr) munmap(map_, kHeaderBytes + capacity_);
  ::close(fd_);  // and its lock
}

Status IntentLog::Reset(size_t capacity) {
  if (map_ != nullptr) munmap(map_, kHeaderBytes + capacity_);
  map_ = nullptr;
  capacity_ = Padded(capacity);
  head_ = tail_ = 0;
  // Zeros throughout: no entry of an earlier run can pass for one of this run's.
  if (ftruncate(fd_, 0) != 0 || ftruncate(fd_, static_cast<off_t>(kHeaderBytes + capacity_)) != 0) {
    return Errno("sizing the intent log " + path_);
  }
  void* p = mmap(nullptr, kHeaderBytes + capacity_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) return Errno("mapping the intent log " + path_);
  map_ = static_cast<char*>(p);
  FileHead* h = file_head();
  h->magic = kMagic;
  h->capacity = capacity_;
  return Status::Ok();
}

bool IntentLog::Fits(size_t body) const { return Padded(kEntryHead + body) <= capacity_; }

bool IntentLog::HasRoom(size_t body) const {
  const size_t n = Padded(kEntryHead + body);
  const size_t off = head_ % capacity_;
  const size_t waste = capacity_ - off < n ? capacity_ - off : 0;
  return head_ + waste + n - tail_ <= capacity_;
}

char* IntentLog::Reserve(size_t body, uint64_t ticket, uint32_t records) {
  if (!Fits(body) || !HasRoom(body)) return nullptr;
  const size_t n = Padded(kEntryHead + body);
  char* ring = map_ + kHeaderBytes;
  size_t off = head_ % capacity_;
  if (capacity_ - off < n) {
    if (capacity_ - off >= kEntryHead) {
      Head wrap{.crc = 0, .size = kWrap, .ticket = ticket, .records = 0, .unused = 0};
      std::memcpy(ring + off, &wrap, sizeof wrap);
    }
    head_ += capacity_ - off;
    off = 0;
  }
  Head h{.crc = 0, .size = static_cast<uint32_t>(n), .ticket = ticket, .records = records, .unused = 0};
  std::memcpy(ring + off, &h, sizeof h);
  head_ += n;
  return ring + off;
}

void IntentLog::Seal(char* entry) {
  uint32_t size;
  std::memcpy(&size, entry + 4, 4);
  const uint32_t crc = EntryCrc(entry, size);
  std::memcpy(entry, &crc, 4);
}

void IntentLog::Release(uint64_t ticket) {
  const char* ring = map_ + kHeaderBytes;
  while (tail_ < head_) {
    const size_t off = tail_ % capacity_;
    if (capacity_ - off < kEntryHead) {
      tail_ += capacity_ - off;
      continue;
    }
    // Not the crc, which the entry's writer sets outside the owner's lock.
    uint32_t size, records;
    uint64_t first;
    std::memcpy(&size, ring + off + offsetof(Head, size), 4);
    if (size == kWrap) {
      tail_ += capacity_ - off;
      continue;
    }
    std::memcpy(&first, ring + off + offsetof(Head, ticket), 8);
    std::memcpy(&records, ring + off + offsetof(Head, records), 4);
    if (first + records - 1 > ticket) break;
    tail_ += size;
  }
  FileHead* f = file_head();
  f->released.store(ticket, std::memory_order_relaxed);
  f->tail.store(tail_ % capacity_, std::memory_order_release);
}

}  // namespace reprise
