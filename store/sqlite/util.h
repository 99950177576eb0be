// Small helpers over the SQLite C API shared by the journal's files.
// Internal to store/.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>

#include "json_text.h"
#include "message_sql.h"
#include "reprise/base/clock.h"
#include "reprise/base/status.h"
#include "reprise/store/filter.h"
#include "reprise/store/message.h"

namespace reprise::sqlite {

// The columns ReadMessage reads (message_sql.h), of `messages` or of the
// table named `alias`.
inline std::string Columns(std::string_view alias = "") {
  return MessageColumns(alias, "length(" + Qualified(alias, "payload") + ")");
}

// Transient conditions a retry may cure (busy, full disk, I/O) are UNAVAILABLE;
// anything else is INTERNAL.
inline Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite journal: " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Unavailable(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(msg) +
                      " (the journal file is damaged: stop the service, move the file aside and "
                      "start on a new journal, or recover its rows with `sqlite3 FILE .recover`; "
                      "see docs/operations.md)");
    default:
      return Internal(std::move(msg));
  }
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  Status Prepare(sqlite3* db, std::string_view sql) {
    sqlite3_finalize(s_);
    s_ = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
    return Status::Ok();
  }
  sqlite3_stmt* get() const { return s_; }

  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // Empty strings are stored as NULL: optional columns stay out of the
  // partial indexes.
  void BindOptionalText(int i, std::string_view v) {
    if (v.empty()) sqlite3_bind_null(s_, i);
    else BindText(i, v);
  }
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void BindValue(int i, const filter::SqlValue& v) {
    if (auto* n = std::get_if<int64_t>(&v)) BindInt(i, *n);
    else if (auto* d = std::get_if<double>(&v)) sqlite3_bind_double(s_, i, *d);
    else BindText(i, std::get<std::string>(v));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

inline std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, i)) : "";
}

// The current row of a stepped statement, as the shared row readers
// (ReadMessageRow, flow_rules::ReadFlowRow) read it.
struct StmtRow {
  sqlite3_stmt* s;
  std::string text(int i) const { return ColumnText(s, i); }
  int64_t integer(int i) const { return sqlite3_column_int64(s, i); }
  double real(int i) const { return sqlite3_column_double(s, i); }
  std::string bytes(int i) const {
    const void* p = sqlite3_column_blob(s, i);
    int n = sqlite3_column_bytes(s, i);
    return p && n > 0 ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
};

// Reads the Columns() (and, with_payload, the payload after them) starting
// at column `at`.
inline Message ReadMessageAt(sqlite3_stmt* s, int at, bool with_payload) {
  return ReadMessageRow(StmtRow{s}, at, with_payload);
}

inline Message ReadMessage(sqlite3_stmt* s, bool with_payload) { return ReadMessageAt(s, 0, with_payload); }

inline Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return SqliteError(nullptr, rc, msg);
  }
  return Status::Ok();
}

// Runs `body` (returning Status or StatusOr<T>) in a write transaction on
// `db`, the writer the caller holds (Connections::LockWriter): commits when
// it succeeds; rolls back when it fails or the commit does ("commit " +
// `what` names the failure). The one way the journal's files write.
template <typename Body>
auto InWriteTransaction(sqlite3* db, std::string_view what, Body&& body) -> decltype(body()) {
  REPRISE_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  auto result = body();
  if (result.ok()) {
    const int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return result;
    Status err = SqliteError(db, rc, "commit " + std::string(what));
    (void)Exec(db, "ROLLBACK");
    return err;
  }
  (void)Exec(db, "ROLLBACK");
  return result;
}

}  // namespace reprise::sqlite
