// The fleet's registry in the SQLite journal (table instances, schema v5).
// Internal to store/.
#pragma once

#include <memory>

#include "reprise/store/instance.h"
#include "sqlite/connections.h"

namespace reprise {

// `conns` must outlive the store.
std::unique_ptr<InstanceStore> NewSqliteInstanceStore(sqlite::Connections* conns);

}  // namespace reprise
