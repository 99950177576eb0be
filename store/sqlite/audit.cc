#include "sqlite/audit.h"

#include <algorithm>

#include "sqlite/util.h"

namespace reprise {
namespace {

using namespace sqlite;  // NOLINT: this file is the journal's SQLite code

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
    std::string sql =
        "SELECT id, at, who, action, request, result_code, result, instance FROM audit WHERE 1=1";
    std::vector<filter::SqlValue> params;
    auto add = [&](const std::string& cond, filter::SqlValue v) {
      params.push_back(std::move(v));
      sql += " AND " + cond + " ?" + std::to_string(params.size());
    };
    if (!q.action.empty()) add("action =", q.action);
    if (!q.who.empty()) add("who =", q.who);
    if (q.since_us > 0) add("at >=", q.since_us);
    if (q.failed_only) sql += " AND result_code != 0";
    if (!q.page_token.empty()) {
      char* end = nullptr;
      long long before = std::strtoll(q.page_token.c_str(), &end, 10);
      if (end == q.page_token.c_str() || *end != '\0') {
        return InvalidArgument("page_token \"" + q.page_token + "\" is not one this journal issued");
      }
      add("id <", static_cast<int64_t>(before));
    }
    uint32_t limit = std::clamp<uint32_t>(q.limit == 0 ? 50 : q.limit, 1, 1000);
    sql += " ORDER BY id DESC LIMIT " + std::to_string(limit + 1);

    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(r.db(), sql));
    for (size_t i = 0; i < params.size(); ++i) s.BindValue(static_cast<int>(i) + 1, params[i]);
    AuditPage page;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      if (page.records.size() == limit) {
        page.next_page_token = page.records.back().id;
        break;
      }
      AuditRecord a;
      a.id = std::to_string(sqlite3_column_int64(s.get(), 0));
      a.at_us = sqlite3_column_int64(s.get(), 1);
      a.who = ColumnText(s.get(), 2);
      a.action = ColumnText(s.get(), 3);
      a.request = ColumnText(s.get(), 4);
      a.code = static_cast<StatusCode>(sqlite3_column_int(s.get(), 5));
      a.result = ColumnText(s.get(), 6);
      a.instance = ColumnText(s.get(), 7);
      page.records.push_back(std::move(a));
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
