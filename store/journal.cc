#include "reprise/store/journal.h"

#include "pg_journal.h"
#include "sqlite_journal.h"

namespace reprise {

StatusOr<std::unique_ptr<Journal>> Journal::Open(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.substr(0, kSqlite.size()) == kSqlite) {
    std::string path(url.substr(kSqlite.size()));
    // Options after '?': vfs=NAME opens the file through a registered SQLite
    // VFS (tests use a fault-injecting one).
    std::string vfs;
    if (size_t q = path.find('?'); q != std::string::npos) {
      std::string_view options = std::string_view(path).substr(q + 1);
      while (!options.empty()) {
        size_t amp = options.find('&');
        std::string_view option = options.substr(0, amp);
        if (option.substr(0, 4) == "vfs=" && option.size() > 4) {
          vfs = std::string(option.substr(4));
        } else {
          return InvalidArgument("journal URL option \"" + std::string(option) +
                                 "\" is unknown; sqlite:PATH takes ?vfs=NAME only");
        }
        options = amp == std::string_view::npos ? std::string_view() : options.substr(amp + 1);
      }
      path.resize(q);
    }
    if (path.empty()) {
      return InvalidArgument("journal URL \"sqlite:\" names no file; use sqlite:PATH, e.g. sqlite:service.journal");
    }
    return OpenSqliteJournal(path, vfs);
  }
  if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") {
    return OpenPostgresJournal(url);
  }
  return InvalidArgument("unknown journal URL \"" + std::string(url) +
                         "\"; expected sqlite:PATH (e.g. sqlite:service.journal) or "
                         "postgresql://[user@]host[:port]/database");
}

}  // namespace reprise
