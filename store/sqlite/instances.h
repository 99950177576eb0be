// The fleet's registry in the SQLite journal (table instances, schema v5).
// Internal to store/.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/store/instance.h"
#include "sqlite/connections.h"

namespace reprise {

// `conns` must outlive the store.
std::unique_ptr<InstanceStore> NewSqliteInstanceStore(sqlite::Connections* conns);

// ReadLiveInstances (instance.h) of the journal file at `path`, opened
// read-only.
StatusOr<std::vector<InstanceRecord>> ReadSqliteLiveInstances(const std::string& path, std::string_view service);

}  // namespace reprise
