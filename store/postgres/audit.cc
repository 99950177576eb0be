// The audit trail in the PostgreSQL journal (table audit, schema v3).
#include <algorithm>
#include <cstdlib>

#include "postgres/journal.h"
#include "reprise/store/audit.h"

namespace reprise {
namespace {

using namespace pg;  // NOLINT: this file is the journal's PostgreSQL code

class PgAuditStore final : public AuditStore {
 public:
  explicit PgAuditStore(Pool* pool) : pool_(pool) {}

  StatusOr<std::string> Append(const AuditRecord& a) override {
    Params p;
    p.Int(a.at_us ? a.at_us : NowUs());
    p.Text(a.who);
    p.Text(a.action);
    p.Text(a.request);
    p.Int(static_cast<int>(a.code));
    p.Text(a.result);
    p.OptionalText(a.instance);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r, c.Exec(
        "INSERT INTO audit (at, who, action, request, result_code, result, instance) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        p, "append audit record"));
    return r.text(0, 0);
  }

  StatusOr<AuditPage> List(const AuditQuery& q) override {
    std::string sql =
        "SELECT id, at, who, action, request, result_code, result, instance FROM audit WHERE true";
    Params p;
    auto add = [&](const std::string& cond, auto set) {
      sql += " AND " + cond + " " + p.Next();
      set();
    };
    if (!q.action.empty()) add("action =", [&] { p.Text(q.action); });
    if (!q.who.empty()) add("who =", [&] { p.Text(q.who); });
    if (q.since_us > 0) add("at >=", [&] { p.Int(q.since_us); });
    if (q.failed_only) sql += " AND result_code != 0";
    if (!q.page_token.empty()) {
      char* end = nullptr;
      long long before = std::strtoll(q.page_token.c_str(), &end, 10);
      if (end == q.page_token.c_str() || *end != '\0') {
        return InvalidArgument("page_token \"" + q.page_token + "\" is not one this journal issued");
      }
      add("id <", [&] { p.Int(before); });
    }
    uint32_t limit = std::clamp<uint32_t>(q.limit == 0 ? 50 : q.limit, 1, 1000);
    sql += " ORDER BY id DESC LIMIT " + std::to_string(limit + 1);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r, c.Exec(sql, p, "list audit"));
    AuditPage page;
    for (int i = 0; i < r.rows(); ++i) {
      if (page.records.size() == limit) {
        page.next_page_token = page.records.back().id;
        break;
      }
      AuditRecord a;
      a.id = r.text(i, 0);
      a.at_us = r.integer(i, 1);
      a.who = r.text(i, 2);
      a.action = r.text(i, 3);
      a.request = r.text(i, 4);
      a.code = static_cast<StatusCode>(r.integer(i, 5));
      a.result = r.text(i, 6);
      a.instance = r.text(i, 7);
      page.records.push_back(std::move(a));
    }
    return page;
  }

 private:
  Pool* const pool_;
};

}  // namespace

std::unique_ptr<AuditStore> NewPgAuditStore(Pool* pool) { return std::make_unique<PgAuditStore>(pool); }

}  // namespace reprise
