// A write batch's messages as a table SQLite can read: the SQLite journal
// inserts a whole batch with one `INSERT ... SELECT ... FROM reprise_batch`.
// Internal to store/.
//
// One statement for the batch instead of one per message: no reset and
// seventeen binds per row, the statement's cursors on the table and its
// indexes stay open from row to row (SQLite keeps its place in each B-tree),
// and the values are read from the batch in place. The writer's CPU per
// message fell by about a quarter (docs/performance-history.md, design
// change 15).
#pragma once

#include <sqlite3.h>

#include <vector>

#include "reprise/base/status.h"
#include "reprise/store/message.h"

namespace reprise::sqlite {

// The rows reprise_batch shows: set before a statement reads the table,
// left alone until it is reset. Used on one connection by one thread at a
// time (the journal's writer).
struct BatchRows {
  const std::vector<Message>* messages = nullptr;
};

// The columns of reprise_batch, in the messages table's words.
inline constexpr const char* kBatchColumns =
    "id, direction, channel, message_key, correlation_id, causation_id, headers, payload, "
    "content_type, recorded_at, outcome, error, attempt, origin_id, job_id, flow_variant, "
    "payload_size";

// Makes the eponymous table reprise_batch on `db`, showing `rows` (which
// must stay valid while a statement reads the table). Its hidden column `ordinal` is a row's
// position in the batch, from 0. Headers read as the JSON text the journal
// stores; empty optional strings read as NULL, as Stmt::BindOptionalText
// binds them.
Status RegisterBatchTable(sqlite3* db, BatchRows* rows);

}  // namespace reprise::sqlite
