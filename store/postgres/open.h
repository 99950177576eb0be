// Where the store enters the PostgreSQL backend: what Journal::Open and
// ReadLiveInstances call for a postgresql:// URL. Without libpq headers, so
// that a build without the backend (REPRISE_WITH_POSTGRES=OFF) compiles the
// same callers against postgres/absent.cc.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "reprise/base/journal_url.h"
#include "reprise/store/instance.h"
#include "reprise/store/journal.h"

namespace reprise {

// Opens (creating and migrating the schema) the journal at a postgresql://
// URL (base/journal_url.h). UNAVAILABLE when the server cannot be reached.
StatusOr<std::unique_ptr<Journal>> OpenPostgresJournal(const JournalUrl& url);

// ReadLiveInstances (instance.h) through a connection of its own to `url`.
StatusOr<std::vector<InstanceRecord>> ReadPgLiveInstances(const JournalUrl& url, std::string_view service);

}  // namespace reprise
