#include "audit_rules.h"

#include <algorithm>
#include <cstdlib>

namespace reprise {

StatusOr<AuditListing> AuditListingFor(const AuditQuery& q, filter::Dialect dialect) {
  AuditListing out;
  out.sql = "SELECT id, at, who, action, request, result_code, result, instance FROM audit WHERE 1=1";
  auto add = [&](const std::string& cond, filter::SqlValue v) {
    out.params.push_back(std::move(v));
    out.sql += " AND " + cond + (dialect == filter::Dialect::kPostgres ? " $" : " ?") +
               std::to_string(out.params.size());
  };
  if (!q.action.empty()) add("action =", q.action);
  if (!q.who.empty()) add("who =", q.who);
  if (q.since_us > 0) add("at >=", q.since_us);
  if (q.failed_only) out.sql += " AND result_code != 0";
  if (!q.page_token.empty()) {
    char* end = nullptr;
    long long before = std::strtoll(q.page_token.c_str(), &end, 10);
    if (end == q.page_token.c_str() || *end != '\0') {
      return InvalidArgument("page_token \"" + q.page_token + "\" is not one this journal issued");
    }
    add("id <", static_cast<int64_t>(before));
  }
  out.limit = std::clamp<uint32_t>(q.limit == 0 ? 50 : q.limit, 1, 1000);
  out.sql += " ORDER BY id DESC LIMIT " + std::to_string(out.limit + 1);
  return out;
}

}  // namespace reprise
