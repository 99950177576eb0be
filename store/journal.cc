#include "reprise/store/journal.h"

#include "pg_journal.h"
#include "sqlite_journal.h"

namespace reprise {

StatusOr<std::unique_ptr<Journal>> Journal::Open(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.substr(0, kSqlite.size()) == kSqlite) {
    std::string path(url.substr(kSqlite.size()));
    if (path.empty()) {
      return InvalidArgument("journal URL \"sqlite:\" names no file; use sqlite:PATH, e.g. sqlite:service.journal");
    }
    return OpenSqliteJournal(path);
  }
  if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    return OpenPostgresJournal(url);
  }
  return InvalidArgument("unknown journal URL \"" + std::string(url) +
                         "\"; expected sqlite:PATH (e.g. sqlite:service.journal) or "
                         "postgresql://[user@]host[:port]/database");
}

}  // namespace reprise
