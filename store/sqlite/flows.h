// Flows in the SQLite journal (tables flows, flow_assignments, flow_history,
// schema v4). Internal to store/.
#pragma once

#include <memory>

#include "reprise/store/flow.h"
#include "sqlite/connections.h"

namespace reprise {

// `conns` must outlive the store.
std::unique_ptr<FlowStore> NewSqliteFlowStore(sqlite::Connections* conns);

}  // namespace reprise
