// The SQLite backend of the Journal: one file per process, the embedded default.
#pragma once

#include <memory>
#include <string>

#include "reprise/store/journal.h"

namespace reprise {

// Opens (creating and migrating) the journal at `path` (":memory:" for tests).
StatusOr<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path);

}  // namespace reprise
