#include "sqlite_connections.h"

#include "sqlite_util.h"

namespace reprise::sqlite {
namespace {
constexpr size_t kMaxIdleReaders = 4;
}  // namespace

StatusOr<std::unique_ptr<Connections>> Connections::Open(const std::string& path,
                                                         const std::string& vfs) {
  std::unique_ptr<Connections> c(new Connections(path, vfs));
  REPRISE_RETURN_IF_ERROR(c->OpenConnection(&c->writer_));
  if (!c->memory_) {
    // Also the first read of the file: a file that is not a database fails here.
    REPRISE_RETURN_IF_ERROR(Exec(c->writer_, "PRAGMA journal_mode=WAL"));
  }
  return c;
}

Connections::~Connections() {
  for (sqlite3* r : readers_) sqlite3_close_v2(r);
  sqlite3_close_v2(writer_);
}

Status Connections::OpenConnection(sqlite3** db) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path_.c_str(), db, flags, vfs_.empty() ? nullptr : vfs_.c_str());
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
