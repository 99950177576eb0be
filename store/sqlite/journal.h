// The SQLite backend of the Journal: one file per process, the embedded default.
#pragma once

#include <memory>
#include <string>

#include "reprise/store/journal.h"

namespace reprise {

namespace sqlite {
// The condition of the partial index messages_by_outcome (schema v9): the
// outcomes a query looks for (pending, failed, skipped); ok, most rows, is
// not indexed. Not `IN (1, 3, 4)`: SQLite evaluates that for every row it
// inserts by building a temporary table (measured: a fifth of the journal's
// insert rate).
inline constexpr const char* kIndexedOutcomes = "outcome <> 2";
// The condition of the partial index messages_by_correlation (schema v13):
// a message that is its own correlation (a root) has no entry; the id index
// finds it.
inline constexpr const char* kCorrelationIndexCondition = "correlation_id <> id";
// Journal::Attempts' source and condition: a delivery's attempts by channel
// (?1) and transport id (?2), from the index messages_by_transport_id (schema
// v15). INDEXED BY: without statistics the planner serves `ORDER BY id` from
// messages_by_channel and reads every message of the channel, once per
// delivery a transport hands over.
inline constexpr const char* kAttemptsFromWhere =
    "messages INDEXED BY messages_by_transport_id WHERE channel = ?1 AND "
    "json_extract(headers, '$.\"reprise-transport-id\"') = ?2 AND "
    "json_extract(headers, '$.\"reprise-transport-id\"') IS NOT NULL";
}  // namespace sqlite

// Opens (creating and migrating) the journal at `path` (":memory:" for tests),
// through the SQLite VFS named `vfs` ("" for the default).
StatusOr<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path,
                                                     const std::string& vfs = "");

}  // namespace reprise
