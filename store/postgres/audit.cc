// The audit trail in the PostgreSQL journal (table audit, schema v3).
#include "audit_rules.h"
#include "postgres/journal.h"
#include "reprise/store/audit.h"

namespace reprise {
namespace {

using namespace pg;  // NOLINT: this file is the journal's PostgreSQL code

// A row of AuditListingFor's query.
AuditRecord ReadAudit(const Result& r, int i) {
  AuditRecord a;
  a.id = r.text(i, 0);
  a.at_us = r.integer(i, 1);
  a.who = r.text(i, 2);
  a.action = r.text(i, 3);
  a.request = r.text(i, 4);
  a.code = static_cast<StatusCode>(r.integer(i, 5));
  a.result = r.text(i, 6);
  a.instance = r.text(i, 7);
  return a;
}

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
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("INSERT INTO audit (at, who, action, request, result_code, result, instance) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                       p, "append audit record"));
    return r.text(0, 0);
  }

  StatusOr<AuditPage> List(const AuditQuery& q) override {
    REPRISE_ASSIGN_OR_RETURN(auto listing, AuditListingFor(q, filter::Dialect::kPostgres));
    Params p;
    p.All(listing.params);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r, c.Exec(listing.sql, p, "list audit"));
    AuditPage page;
    for (int i = 0; i < r.rows(); ++i) {
      if (page.records.size() == listing.limit) {
        page.next_page_token = page.records.back().id;
        break;
      }
      page.records.push_back(ReadAudit(r, i));
    }
    return page;
  }

 private:
  Pool* const pool_;
};

}  // namespace

std::unique_ptr<AuditStore> NewPgAuditStore(Pool* pool) { return std::make_unique<PgAuditStore>(pool); }

}  // namespace reprise
