// The PostgreSQL side of the journal: connections (a small pool that
// reconnects with backoff), bound parameters, results and the mapping of
// server errors to Status codes. Internal to store/.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "json_text.h"
#include "message_sql.h"
#include "reprise/base/clock.h"
#include "reprise/base/status.h"
#include "reprise/store/filter.h"
#include "reprise/store/message.h"

namespace reprise::pg {

// The columns ReadMessage reads (message_sql.h), of `messages` or of the
// table named `alias`.
inline std::string Columns(std::string_view alias = "") {
  return MessageColumns(alias, "octet_length(" + Qualified(alias, "payload") + ")");
}

// Server down, connection lost, too many connections, serialization
// failures: UNAVAILABLE, so that callers (the recorder) retry. Corruption:
// DATA_LOSS. Anything else: INTERNAL.
Status PgError(PGconn* conn, const PGresult* res, std::string_view what);
// libpq's message for `res`, or else the connection's last, trimmed.
std::string ErrorText(PGconn* conn, const PGresult* res);

// Parameters for PQexecParams: text, except bytes (binary).
class Params {
 public:
  void Text(std::string_view v) { Add(std::string(v), 0); }
  // Empty strings are NULL, as in the SQLite backend: optional columns stay
  // out of the partial indexes.
  void OptionalText(std::string_view v) {
    if (v.empty()) Null();
    else Text(v);
  }
  void Int(int64_t v) { Add(std::to_string(v), 0); }
  void Double(double v);
  void Bytes(std::string_view v) { Add(std::string(v), 1); }
  void Null() {
    values_.emplace_back();
    nulls_.push_back(true);
    formats_.push_back(0);
  }
  void Value(const filter::SqlValue& v);
  void All(const std::vector<filter::SqlValue>& vs) {
    for (const auto& v : vs) Value(v);
  }
  int size() const { return static_cast<int>(values_.size()); }
  // The next placeholder: "$N".
  std::string Next() const { return "$" + std::to_string(size() + 1); }

  // Views for libpq; valid while this object is unchanged.
  struct Arrays {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
  };
  Arrays Build() const;

 private:
  void Add(std::string v, int format) {
    values_.push_back(std::move(v));
    nulls_.push_back(false);
    formats_.push_back(format);
  }
  std::deque<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> formats_;
};

// A result, cleared on destruction.
class Result {
 public:
  Result() = default;
  explicit Result(PGresult* r) : r_(r, PQclear) {}
  PGresult* get() const { return r_.get(); }
  int rows() const { return PQntuples(r_.get()); }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col), PQgetlength(r_.get(), row, col));
  }
  int64_t integer(int row, int col) const;
  double real(int row, int col) const;
  // A bytea column in text (hex) form, decoded.
  std::string bytes(int row, int col) const;
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t changed() const;

 private:
  std::shared_ptr<PGresult> r_;
};

// Row `row` of a result, as the shared row readers (ReadMessageRow,
// flow_rules::ReadFlowRow) read it.
struct ResultRow {
  const Result& r;
  int row;
  std::string text(int i) const { return r.text(row, i); }
  int64_t integer(int i) const { return r.integer(row, i); }
  double real(int i) const { return r.real(row, i); }
  std::string bytes(int i) const { return r.bytes(row, i); }
};

// Reads Columns() starting at column `at` (and the payload after them).
Message ReadMessage(const Result& r, int row, int at, bool with_payload);

class Pool;

// One connection, borrowed from the pool for one operation or transaction.
// Returned on destruction; a broken one (or one left inside a transaction)
// is closed instead.
class Conn {
 public:
  Conn(Conn&& o) noexcept : pool_(o.pool_), c_(o.c_) { o.c_ = nullptr; }
  Conn(const Conn&) = delete;
  ~Conn();
  PGconn* get() const { return c_; }

  // One statement with parameters; errors as Status.
  StatusOr<Result> Exec(std::string_view sql, const Params& params, std::string_view what);
  StatusOr<Result> Exec(std::string_view sql, std::string_view what) {
    return Exec(sql, Params(), what);
  }
  Status Run(std::string_view sql, std::string_view what) { return Exec(sql, what).status(); }

 private:
  friend class Pool;
  Conn(Pool* pool, PGconn* c) : pool_(pool), c_(c) {}
  Pool* pool_;
  PGconn* c_;
};

// BEGIN ... COMMIT on one connection; rolls back on destruction unless
// committed.
class Transaction {
 public:
  explicit Transaction(Conn& c) : c_(c) {}
  ~Transaction();
  Status Begin(std::string_view mode = "BEGIN");
  Status Commit();

 private:
  Conn& c_;
  bool open_ = false;
};

// Connections to one server. Thread-safe. When the server is unreachable,
// attempts back off (100 ms doubling to 2 s) and calls in between fail fast
// with UNAVAILABLE and the last error, so that a recorder retrying in a loop
// does not hammer a server that is restarting.
class Pool {
 public:
  // `url`: a postgresql:// URL as libpq reads it; `display`: the same
  // without a password, for messages.
  Pool(std::string url, std::string display) : url_(std::move(url)), display_(std::move(display)) {}
  ~Pool();
  StatusOr<Conn> Borrow();
  const std::string& display() const { return display_; }
  // libpq's message for the last connection that failed to open.
  std::string last_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  friend class Conn;
  void Return(PGconn* c);

  const std::string url_, display_;
  std::mutex mu_;
  std::vector<PGconn*> idle_;  // guarded by mu_
  std::chrono::steady_clock::time_point retry_at_{};  // guarded by mu_
  std::chrono::milliseconds backoff_{0};              // guarded by mu_
  std::string last_error_;                            // guarded by mu_
};

}  // namespace reprise::pg
