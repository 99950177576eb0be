// What both journal backends share about the audit trail: the query behind
// AuditStore::List. Internal to store/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reprise/store/audit.h"
#include "reprise/store/filter.h"

namespace reprise {

// A page of the audit trail as SQL: the query's records, newest first, at
// most `limit` + 1 (a last row past `limit` says another page follows), with
// the parameters it binds.
struct AuditListing {
  std::string sql;
  std::vector<filter::SqlValue> params;
  uint32_t limit = 0;
};

// INVALID_ARGUMENT for a page token the journal did not issue.
StatusOr<AuditListing> AuditListingFor(const AuditQuery& q, filter::Dialect dialect);

}  // namespace reprise
