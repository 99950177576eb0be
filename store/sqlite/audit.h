// The audit trail in the SQLite journal (table audit, schema v3).
// Internal to store/.
#pragma once

#include <memory>

#include "reprise/store/audit.h"
#include "sqlite/connections.h"

namespace reprise {

// `conns` must outlive the store.
std::unique_ptr<AuditStore> NewSqliteAuditStore(sqlite::Connections* conns);

}  // namespace reprise
