#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "postgres/util.h"

namespace reprise::pg {
namespace {
constexpr size_t kMaxIdle = 4;
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::string ErrorText(PGconn* conn, const PGresult* res) {
  std::string detail = Trim(res ? PQresultErrorMessage(res) : "");
  if (detail.empty() && conn) detail = Trim(PQerrorMessage(conn));
  return detail;
}

Status PgError(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string msg = "postgresql journal: " + std::string(what) + ": " + ErrorText(conn, res);
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view s = state ? state : "";
  if (s.empty() || (conn && PQstatus(conn) != CONNECTION_OK) || s.substr(0, 2) == "08" ||
      s.substr(0, 2) == "53" || s.substr(0, 3) == "57P" || s.substr(0, 2) == "58" ||
      s == "40001" || s == "40P01" || s == "55P03") {
    return Unavailable(std::move(msg) + " (the journal retries; check that PostgreSQL is up)");
  }
  if (s == "XX001" || s == "XX002") return DataLoss(std::move(msg));
  return Internal(std::move(msg));
}

void Params::Double(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  Add(buf, 0);
}

void Params::Value(const filter::SqlValue& v) {
  if (auto* n = std::get_if<int64_t>(&v)) Int(*n);
  else if (auto* d = std::get_if<double>(&v)) Double(*d);
  else Text(std::get<std::string>(v));
}

Params::Arrays Params::Build() const {
  Arrays a;
  for (size_t i = 0; i < values_.size(); ++i) {
    a.values.push_back(nulls_[i] ? nullptr : values_[i].data());
    a.lengths.push_back(static_cast<int>(values_[i].size()));
    a.formats.push_back(formats_[i]);
  }
  return a;
}

int64_t Result::integer(int row, int col) const {
  if (null(row, col)) return 0;
  const char* v = PQgetvalue(r_.get(), row, col);
  return std::strtoll(v, nullptr, 10);
}

double Result::real(int row, int col) const {
  if (null(row, col)) return 0;
  return std::strtod(PQgetvalue(r_.get(), row, col), nullptr);
}

std::string Result::bytes(int row, int col) const {
  if (null(row, col)) return "";
  size_t n = 0;
  unsigned char* b =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &n);
  if (b == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(b), n);
  PQfreemem(b);
  return out;
}

int64_t Result::changed() const {
  const char* t = PQcmdTuples(r_.get());
  return (t && *t) ? std::strtoll(t, nullptr, 10) : 0;
}

Message ReadMessage(const Result& r, int row, int at, bool with_payload) {
  return ReadMessageRow(ResultRow{r, row}, at, with_payload);
}

Conn::~Conn() {
  if (c_) pool_->Return(c_);
}

StatusOr<Result> Conn::Exec(std::string_view sql, const Params& params, std::string_view what) {
  Params::Arrays a = params.Build();
  std::string text(sql);
  // Without parameters, the simple protocol: it also runs several statements
  // (schema migrations).
  Result r(params.size() == 0
               ? PQexec(c_, text.c_str())
               : PQexecParams(c_, text.c_str(), params.size(), nullptr, a.values.data(),
                              a.lengths.data(), a.formats.data(), 0));
  ExecStatusType st = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  return PgError(c_, r.get(), what);
}

Transaction::~Transaction() {
  if (open_) (void)c_.Run("ROLLBACK", "roll back");
}

Status Transaction::Begin(std::string_view mode) {
  REPRISE_RETURN_IF_ERROR(c_.Run(mode, "begin"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  open_ = false;
  return c_.Run("COMMIT", "commit");
}

Pool::~Pool() {
  for (PGconn* c : idle_) PQfinish(c);
}

StatusOr<Conn> Pool::Borrow() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!idle_.empty()) {
      PGconn* c = idle_.back();
      idle_.pop_back();
      if (PQstatus(c) == CONNECTION_OK) return Conn(this, c);
      PQfinish(c);
    }
    if (backoff_.count() > 0 && std::chrono::steady_clock::now() < retry_at_) {
      return Unavailable("postgresql journal: " + display_ + " is unreachable (" + last_error_ +
                         "); reconnecting with backoff");
    }
  }
  // Keywords before the URL are defaults the URL may override.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "reprise", url_.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, 1);
  std::lock_guard<std::mutex> lock(mu_);
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
    last_error_ = c ? Trim(PQerrorMessage(c)) : "out of memory";
    if (c) PQfinish(c);
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    retry_at_ = std::chrono::steady_clock::now() + backoff_;
    return Unavailable("postgresql journal: cannot connect to " + display_ + ": " + last_error_);
  }
  backoff_ = std::chrono::milliseconds(0);
  // Notices (e.g. "relation already exists, skipping") are not errors.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  return Conn(this, c);
}

void Pool::Return(PGconn* c) {
  std::lock_guard<std::mutex> lock(mu_);
  if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE && idle_.size() < kMaxIdle) {
    idle_.push_back(c);
  } else {
    PQfinish(c);
  }
}

}  // namespace reprise::pg
