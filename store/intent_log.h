// IntentLog: the records a Recorder in `process` durability has accepted and
// the journal has not committed yet, in a file mapped shared with the page
// cache, so that a record survives the death of the process (kill -9) as soon
// as the call that appended it returns. Not a power loss: nothing is synced.
//
// The file: a header page (magic, capacity, the last released ticket and the
// ring's tail), then a ring of entries. An entry is a 24-byte head (crc32c of
// the rest, its size, its first record's ticket, how many records) and the
// records as the recorder serializes them. Size, ticket and count are written
// when the entry is reserved, the crc once its records are: an entry a crash
// cut short fails its crc (torn: dropped and counted) and the entries after
// it are still found by their sizes and consecutive tickets.
//
// Not thread-safe: its owner calls Reserve and Release under one lock; the
// thread that reserved an entry writes its records and calls Seal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reprise/base/status.h"

namespace reprise {

class IntentLog {
 public:
  static constexpr size_t kEntryHead = 24;

  // What a previous process left in the log: entries not all released, in
  // ticket order. Records with tickets <= `released` were committed.
  struct Recovered {
    struct Entry {
      uint64_t first_ticket = 0;
      uint32_t records = 0;
      std::string body;
    };
    std::vector<Entry> entries;
    uint64_t released = 0;
    uint64_t torn = 0;  // entries dropped: cut short or corrupt
  };

  // Opens and locks the log at `path` (or, while another live process holds
  // that one, `path`-2 ... `path`-8) and reads what it holds into
  // `recovered`. The log takes entries only after Reset.
  static StatusOr<std::unique_ptr<IntentLog>> Open(const std::string& path, Recovered* recovered);
  ~IntentLog();
  IntentLog(const IntentLog&) = delete;
  IntentLog& operator=(const IntentLog&) = delete;

  // Empties the log and maps a ring of `capacity` bytes: call once what Open
  // recovered is in the journal.
  Status Reset(size_t capacity);

  // Whether an entry of `body` bytes could ever fit; whether it fits now.
  bool Fits(size_t body) const;
  bool HasRoom(size_t body) const;
  // Room for an entry of `body` bytes holding `records` records from
  // `ticket` on: its start, the body to be written at + kEntryHead, then
  // Seal. Null when full.
  char* Reserve(size_t body, uint64_t ticket, uint32_t records);
  static void Seal(char* entry);
  // Frees the entries whose records all have tickets <= `ticket`.
  void Release(uint64_t ticket);

  const std::string& path() const { return path_; }
  size_t capacity() const { return capacity_; }
  // Bytes reserved and not released (ring positions, wasted ends included).
  size_t used() const { return static_cast<size_t>(head_ - tail_); }

 private:
  IntentLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  struct FileHead;
  FileHead* file_head() const;

  const int fd_;
  const std::string path_;
  char* map_ = nullptr;  // the header page, then the ring
  size_t capacity_ = 0;
  uint64_t head_ = 0;  // ring positions, growing; an entry starts at pos % capacity_
  uint64_t tail_ = 0;
};

// CRC-32C (Castagnoli) of `n` bytes, continuing `crc`; SSE 4.2 where the CPU has it.
uint32_t Crc32c(uint32_t crc, const char* data, size_t n);

}  // namespace reprise
