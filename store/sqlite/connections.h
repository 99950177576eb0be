// The SQLite connections behind one journal file: one writer, used by one
// thread at a time, and a small pool of readers. WAL lets readers run while
// the writer commits, so operators' queries never stall the host's recording.
// A checkpointer thread with its own connection copies the WAL back into the
// database file, so that commits do not (see Open).
// Internal to store/.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "reprise/base/status.h"

namespace reprise::sqlite {

// SQLite counts every allocation it makes for sqlite3_memory_used() and the
// soft heap limit, under one process-wide mutex: a lock and an unlock per
// allocation, on every thread, a tenth of the writer's time in the reflow
// benchmark. The journal needs neither, so the first Open turns the count
// off (and initializes SQLite), unless the process has initialized SQLite
// already: sqlite3_config then refuses, and the host's setting stays.
// Idempotent.
void TurnOffMemoryStatistics();

class Connections {
 public:
  // Opens the writer (creating the file, enabling WAL), through the SQLite
  // VFS named `vfs` ("" for the default), with the WAL-gathering VFS of
  // sqlite/wal_buffer.h stacked on it.
  static StatusOr<std::unique_ptr<Connections>> Open(const std::string& path,
                                                     const std::string& vfs = "");
  ~Connections();

  // Exclusive use of the writer connection while the object lives.
  class Writer {
   public:
    sqlite3* db() const { return db_; }

   private:
    friend class Connections;
    Writer(std::mutex& mu, sqlite3* db) : lock_(mu), db_(db) {}
    std::unique_lock<std::mutex> lock_;
    sqlite3* db_;
  };
  Writer LockWriter() { return Writer(write_mu_, writer_); }

  // A reader connection borrowed for one query. With ":memory:" every
  // connection would be a different database, so the writer is shared.
  class Reader {
   public:
    ~Reader();
    Reader(Reader&&) = delete;
    bool ok() const { return status_.ok(); }
    const Status& status() const { return status_; }
    sqlite3* db() const { return db_; }

   private:
    friend class Connections;
    explicit Reader(Connections* c);
    Connections* c_;
    sqlite3* db_ = nullptr;
    Status status_;
    std::unique_lock<std::mutex> lock_;
  };
  Reader BorrowReader() { return Reader(this); }

  // WAL frames the checkpointer has copied into the database so far (a
  // frame may count again if a later checkpoint copies it again).
  uint64_t checkpointed_frames() const {
    return checkpointed_frames_.load(std::memory_order_relaxed);
  }

  const std::string& path() const { return path_; }
  const std::string& vfs() const { return vfs_; }

 private:
  Connections(std::string path, std::string vfs)
      : path_(std::move(path)), vfs_(std::move(vfs)), open_vfs_(vfs_), memory_(path_ == ":memory:") {}
  Status OpenConnection(sqlite3** db);
  // Called by SQLite after each commit of the writer with the WAL's size.
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void CheckpointLoop(sqlite3* db);

  const std::string path_;
  const std::string vfs_;  // as the journal's URL names it ("" for the default)
  std::string open_vfs_;   // what connections open: the WAL-gathering VFS over vfs_
  const bool memory_;
  std::mutex write_mu_;
  sqlite3* writer_ = nullptr;  // used under write_mu_
  std::mutex reader_mu_;
  std::vector<sqlite3*> readers_;  // idle; guarded by reader_mu_

  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mu_
  bool stopping_ = false;           // guarded by checkpoint_mu_
  std::atomic<uint64_t> checkpointed_frames_{0};
  std::thread checkpointer_;
};

}  // namespace reprise::sqlite
