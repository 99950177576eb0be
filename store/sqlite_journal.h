// The SQLite backend of the Journal: one file per process, the embedded default.
#pragma once

#include <memory>
#include <string>

#include "reprise/store/journal.h"

namespace reprise {

// Opens (creating and migrating) the journal at `path` (":memory:" for tests),
// through the SQLite VFS named `vfs` ("" for the default).
StatusOr<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path,
                                                     const std::string& vfs = "");

}  // namespace reprise
