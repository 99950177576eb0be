// The PostgreSQL backend of the Journal: one database shared by a fleet of
// processes. See docs/fleet.md ("PostgreSQL backend").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "postgres/open.h"
#include "postgres/util.h"
#include "reprise/base/journal_url.h"
#include "reprise/store/change_feed.h"
#include "reprise/store/instance.h"
#include "reprise/store/journal.h"

namespace reprise {

// How Write appends messages: binary COPY (the default, measured fastest),
// multi-row INSERT ... ON CONFLICT DO NOTHING, or one prepared INSERT per row
// sent in libpq's pipeline mode. The URL parameter
// `reprise_append=copy|insert|pipeline` chooses (pg_append_measure compares
// them); it is removed before libpq sees the URL.
enum class PgAppend { kCopy, kInsert, kPipeline };

std::unique_ptr<JobStore> NewPgJobStore(pg::Pool* pool);
std::unique_ptr<AuditStore> NewPgAuditStore(pg::Pool* pool);
std::unique_ptr<FlowStore> NewPgFlowStore(pg::Pool* pool);
std::unique_ptr<InstanceStore> NewPgInstanceStore(pg::Pool* pool);
// LISTEN/NOTIFY on a connection of its own to `libpq_url` (postgres/change_feed.cc).
std::unique_ptr<ChangeFeed> NewPgChangeFeed(std::string libpq_url);

// Sends the change feed's notification for `topic` ("reprise_flows" or
// "reprise_jobs") within the caller's transaction, if any: it is delivered
// when that commits.
Status NotifyChange(pg::Conn& c, std::string_view channel);

}  // namespace reprise
