#include "sqlite/instances.h"

#include "sqlite/util.h"

namespace reprise {
namespace {

using namespace sqlite;  // NOLINT: this file is the journal's SQLite code

// ListInstances's query: instances of service ?1 ("" for every service),
// gone ones too when ?2, live first, then by service and id.
constexpr const char* kListInstances =
    "SELECT id, service, host, pid, address, agent_version, api_version, started_at, "
    "heartbeat_at, state, gone_reason FROM instances WHERE (?1 = '' OR service = ?1) "
    "AND (?2 OR state = 1) ORDER BY state, service, id";

// Runs `s`, kListInstances prepared on `db`.
StatusOr<std::vector<InstanceRecord>> ListWith(sqlite3* db, Stmt& s, std::string_view service, bool include_gone) {
  s.BindText(1, service);
  s.BindInt(2, include_gone ? 1 : 0);
  std::vector<InstanceRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    InstanceRecord i;
    i.id = ColumnText(s.get(), 0);
    i.service = ColumnText(s.get(), 1);
    i.host = ColumnText(s.get(), 2);
    i.pid = sqlite3_column_int64(s.get(), 3);
    i.address = ColumnText(s.get(), 4);
    i.agent_version = ColumnText(s.get(), 5);
    i.api_version = ColumnText(s.get(), 6);
    i.started_at_us = sqlite3_column_int64(s.get(), 7);
    i.heartbeat_at_us = sqlite3_column_int64(s.get(), 8);
    i.state = sqlite3_column_int(s.get(), 9) == 2 ? InstanceState::kGone : InstanceState::kLive;
    i.gone_reason = ColumnText(s.get(), 10);
    out.push_back(std::move(i));
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "list instances");
  return out;
}

class SqliteInstanceStore final : public InstanceStore {
 public:
  explicit SqliteInstanceStore(Connections* conns) : conns_(conns) {}

  Status Register(const InstanceRecord& in) override {
    auto w = conns_->LockWriter();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        w.db(),
        "INSERT INTO instances (id, service, host, pid, address, agent_version, api_version, "
        "started_at, heartbeat_at, state, gone_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, NULL) "
        "ON CONFLICT (id) DO UPDATE SET service = excluded.service, host = excluded.host, "
        "pid = excluded.pid, address = excluded.address, agent_version = excluded.agent_version, "
        "api_version = excluded.api_version, started_at = excluded.started_at, "
        "heartbeat_at = excluded.heartbeat_at, state = 1, gone_reason = NULL"));
    const int64_t now = NowUs();
    s.BindText(1, in.id);
    s.BindText(2, in.service);
    s.BindText(3, in.host);
    s.BindInt(4, in.pid);
    s.BindOptionalText(5, in.address);
    s.BindOptionalText(6, in.agent_version);
    s.BindOptionalText(7, in.api_version);
    s.BindInt(8, in.started_at_us ? in.started_at_us : now);
    s.BindInt(9, now);
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "register instance");
    return Status::Ok();
  }

  Status Heartbeat(std::string_view id) override {
    auto w = conns_->LockWriter();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        w.db(), "UPDATE instances SET heartbeat_at = ?2, state = 1, gone_reason = NULL WHERE id = ?1"));
    s.BindText(1, id);
    s.BindInt(2, NowUs());
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "heartbeat");
    if (sqlite3_changes(w.db()) == 0) {
      return NotFound("instance " + std::string(id) + " is not registered in this journal");
    }
    return Status::Ok();
  }

  Status MarkGone(std::string_view id, std::string_view reason) override {
    auto w = conns_->LockWriter();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        w.db(), "UPDATE instances SET state = 2, gone_reason = ?2 WHERE id = ?1"));
    s.BindText(1, id);
    s.BindOptionalText(2, reason);
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "mark instance gone");
    return Status::Ok();
  }

  StatusOr<uint64_t> ExpireStale(std::chrono::microseconds timeout) override {
    auto w = conns_->LockWriter();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        w.db(), "UPDATE instances SET state = 2, gone_reason = ?2 WHERE state = 1 AND heartbeat_at < ?1"));
    s.BindInt(1, NowUs() - timeout.count());
    s.BindText(2, "no heartbeat for " + std::to_string(timeout.count() / 1000) + " ms");
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "expire instances");
    return static_cast<uint64_t>(sqlite3_changes(w.db()));
  }

  StatusOr<std::vector<InstanceRecord>> ListInstances(std::string_view service,
                                                      bool include_gone) override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(r.db(), kListInstances));
    return ListWith(r.db(), s, service, include_gone);
  }

 private:
  Connections* const conns_;
};

}  // namespace

std::unique_ptr<InstanceStore> NewSqliteInstanceStore(Connections* conns) {
  return std::make_unique<SqliteInstanceStore>(conns);
}

StatusOr<std::vector<InstanceRecord>> ReadSqliteLiveInstances(const std::string& path, std::string_view service) {
  // Read-only, and never created: the reader must not leave a new file
  // behind where it found none, nor change the journal's schema. The VFS is
  // SQLite's own: a journal URL's vfs names one of the writing process.
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> closer(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return Unavailable("cannot open journal " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
  }
  sqlite3_busy_timeout(db, 5000);
  Stmt s;
  if (!s.Prepare(db, kListInstances).ok()) {
    return FailedPrecondition("journal " + path + " has no instance registry (" + sqlite3_errmsg(db) +
                              "); is it a Reprise journal of schema 5 or later?");
  }
  auto live = ListWith(db, s, service, /*include_gone=*/false);
  if (!live.ok()) return Unavailable("reading the instance registry: " + std::string(sqlite3_errmsg(db)));
  return live;
}

}  // namespace reprise
