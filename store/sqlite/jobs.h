// Job storage in the SQLite journal (tables jobs and job_items, schema v2).
// Internal to store/.
#pragma once

#include <memory>

#include "reprise/store/job.h"
#include "sqlite/connections.h"

namespace reprise {

// `conns` must outlive the store.
std::unique_ptr<JobStore> NewSqliteJobStore(sqlite::Connections* conns);

}  // namespace reprise
