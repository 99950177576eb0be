#include "sqlite/connections.h"

#include <pthread.h>

#include "sqlite/util.h"
#include "sqlite/wal_buffer.h"

namespace reprise::sqlite {
namespace {
constexpr size_t kMaxIdleReaders = 4;
// WAL sizes in pages (4 KiB). From kCheckpointPages on, the checkpointer
// copies the WAL into the database. A commit checkpoints by itself, as
// SQLite's automatic checkpoint would, only when the WAL has grown past
// kBackstopPages: the checkpointer lags (a long reader, a starved thread).
constexpr int kCheckpointPages = 4096;
constexpr int kBackstopPages = 4 * kCheckpointPages;
}  // namespace

void TurnOffMemoryStatistics() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)sqlite3_initialize();
  });
}

StatusOr<std::unique_ptr<Connections>> Connections::Open(const std::string& path,
                                                         const std::string& vfs) {
  TurnOffMemoryStatistics();
  std::unique_ptr<Connections> c(new Connections(path, vfs));
  if (!c->memory_) {
    // Every connection writes its WAL through the gathering VFS: one write
    // per commit rather than two per page (sqlite/wal_buffer.h).
    REPRISE_ASSIGN_OR_RETURN(auto gathering, WalGatheringVfs(vfs));
    c->open_vfs_ = gathering;
  }
  REPRISE_RETURN_IF_ERROR(c->OpenConnection(&c->writer_));
  if (!c->memory_) {
    // Also the first read of the file: a file that is not a database fails here.
    REPRISE_RETURN_IF_ERROR(Exec(c->writer_, "PRAGMA journal_mode=WAL"));
    // SQLite's automatic checkpoint runs inside the commit that crosses
    // 1000 pages: the committing thread (the recorder's writer, a job's
    // claim) then copies the WAL into the database and syncs it, which was
    // most of the cost of a commit in the reflow benchmark. A passive
    // checkpoint on another connection does the same work beside the
    // writer without blocking it; durability is the commits' own (the WAL).
    sqlite3* db = nullptr;
    REPRISE_RETURN_IF_ERROR(c->OpenConnection(&db));
    // A connection opens the WAL at its first read; until then a checkpoint
    // on it does nothing and still returns SQLITE_OK.
    if (Status st = Exec(db, "SELECT 1 FROM sqlite_schema LIMIT 1"); !st.ok()) {
      sqlite3_close_v2(db);
      return st;
    }
    sqlite3_wal_hook(c->writer_, &Connections::OnCommit, c.get());  // replaces the automatic checkpoint
    c->checkpointer_ = std::thread([conns = c.get(), db] {
      pthread_setname_np(pthread_self(), "reprise-ckpt");
      conns->CheckpointLoop(db);
    });
  }
  return c;
}

Connections::~Connections() {
  if (checkpointer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(checkpoint_mu_);
      stopping_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpointer_.join();
  }
  for (sqlite3* r : readers_) sqlite3_close_v2(r);
  sqlite3_close_v2(writer_);
}

int Connections::OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* c = static_cast<Connections*>(self);
  if (wal_pages >= kBackstopPages) {
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (wal_pages >= kCheckpointPages) {
    std::lock_guard<std::mutex> lock(c->checkpoint_mu_);
    if (!c->checkpoint_wanted_) {
      c->checkpoint_wanted_ = true;
      c->checkpoint_cv_.notify_one();
    }
  }
  return SQLITE_OK;
}

void Connections::CheckpointLoop(sqlite3* db) {
  std::unique_lock<std::mutex> lock(checkpoint_mu_);
  while (true) {
    checkpoint_cv_.wait(lock, [&] { return checkpoint_wanted_ || stopping_; });
    if (stopping_) break;
    lock.unlock();
    // Passive: copies what no reader still needs, never waits for the
    // writer or readers. A failure (I/O error, disk full) leaves the WAL as
    // it is, which stays valid; the next commit past the mark asks again.
    int wal_frames = 0, copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied) ==
            SQLITE_OK &&
        copied > 0) {
      checkpointed_frames_.fetch_add(static_cast<uint64_t>(copied), std::memory_order_relaxed);
    }
    lock.lock();
    checkpoint_wanted_ = false;
  }
  lock.unlock();
  sqlite3_close_v2(db);
}

Status Connections::OpenConnection(sqlite3** db) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path_.c_str(), db, flags, open_vfs_.empty() ? nullptr : open_vfs_.c_str());
  if (rc != SQLITE_OK) {
    Status st = SqliteError(*db, rc, "open " + path_);
    sqlite3_close_v2(*db);
    *db = nullptr;
    return st;
  }
  sqlite3_busy_timeout(*db, 5000);
  sqlite3_extended_result_codes(*db, 1);
  return Status::Ok();
}

Connections::Reader::Reader(Connections* c) : c_(c) {
  if (c_->memory_) {
    lock_ = std::unique_lock<std::mutex>(c_->write_mu_);
    db_ = c_->writer_;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(c_->reader_mu_);
    if (!c_->readers_.empty()) {
      db_ = c_->readers_.back();
      c_->readers_.pop_back();
      return;
    }
  }
  status_ = c_->OpenConnection(&db_);
  if (status_.ok()) (void)Exec(db_, "PRAGMA query_only=1");
}

Connections::Reader::~Reader() {
  if (c_->memory_ || db_ == nullptr) return;
  std::lock_guard<std::mutex> lock(c_->reader_mu_);
  if (status_.ok() && c_->readers_.size() < kMaxIdleReaders) {
    c_->readers_.push_back(db_);
  } else {
    sqlite3_close_v2(db_);
  }
}

}  // namespace reprise::sqlite
