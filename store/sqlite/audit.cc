#include "sqlite/audit.h"

#include "audit_rules.h"
#include "sqlite/util.h"

namespace reprise {
namespace {

using namespace sqlite;  // NOLINT: this file is the journal's SQLite code

// A row of AuditListingFor's query.
AuditRecord ReadAudit(sqlite3_stmt* s) {
  AuditRecord a;
  a.id = std::to_string(sqlite3_column_int64(s, 0));
  a.at_us = sqlite3_column_int64(s, 1);
  a.who = ColumnText(s, 2);
  a.action = ColumnText(s, 3);
  a.request = ColumnText(s, 4);
  a.code = static_cast<StatusCode>(sqlite3_column_int(s, 5));
  a.result = ColumnText(s, 6);
  a.instance = ColumnText(s, 7);
  return a;
}

class SqliteAuditStore final : public AuditStore {
 public:
  explicit SqliteAuditStore(Connections* conns) : conns_(conns) {}

  StatusOr<std::string> Append(const AuditRecord& r) override {
    auto w = conns_->LockWriter();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        w.db(), "INSERT INTO audit (at, who, action, request, result_code, result, instance) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    s.BindInt(1, r.at_us ? r.at_us : NowUs());
    s.BindText(2, r.who);
    s.BindText(3, r.action);
    s.BindText(4, r.request);
    s.BindInt(5, static_cast<int>(r.code));
    s.BindText(6, r.result);
    s.BindOptionalText(7, r.instance);
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "append audit record");
    return std::to_string(sqlite3_last_insert_rowid(w.db()));
  }

  StatusOr<AuditPage> List(const AuditQuery& q) override {
    REPRISE_ASSIGN_OR_RETURN(auto listing, AuditListingFor(q, filter::Dialect::kSqlite));
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(r.db(), listing.sql));
    for (size_t i = 0; i < listing.params.size(); ++i) s.BindValue(static_cast<int>(i) + 1, listing.params[i]);
    AuditPage page;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      if (page.records.size() == listing.limit) {
        page.next_page_token = page.records.back().id;
        break;
      }
      page.records.push_back(ReadAudit(s.get()));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(r.db(), rc, "list audit");
    return page;
  }

 private:
  Connections* const conns_;
};

}  // namespace

std::unique_ptr<AuditStore> NewSqliteAuditStore(Connections* conns) {
  return std::make_unique<SqliteAuditStore>(conns);
}

}  // namespace reprise
