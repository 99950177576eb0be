// The PostgreSQL backend's entry points in a build without it
// (REPRISE_WITH_POSTGRES=OFF): its URLs are refused with what to do.
#include <string>

#include "postgres/open.h"

namespace reprise {
namespace {

// The callers name the URL.
Status NotBuilt() {
  return FailedPrecondition(
      "this build of Reprise has no PostgreSQL backend for postgresql:// journals; "
      "rebuild it with -DREPRISE_WITH_POSTGRES=ON (needs libpq), or use a sqlite: journal");
}

}  // namespace

StatusOr<std::unique_ptr<Journal>> OpenPostgresJournal(const JournalUrl&) { return NotBuilt(); }

StatusOr<std::vector<InstanceRecord>> ReadPgLiveInstances(const JournalUrl&, std::string_view) {
  return NotBuilt();
}

}  // namespace reprise
