#include "reprise/store/journal.h"

#include "postgres/open.h"
#include "reprise/base/journal_url.h"
#include "sqlite/journal.h"

namespace reprise {

StatusOr<std::unique_ptr<Journal>> Journal::Open(std::string_view url) {
  REPRISE_ASSIGN_OR_RETURN(auto parsed, ParseJournalUrl(url));
  if (parsed.backend == JournalUrl::Backend::kSqlite) return OpenSqliteJournal(parsed.path, parsed.vfs);
  return OpenPostgresJournal(parsed);
}

}  // namespace reprise
