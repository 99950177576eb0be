#include "reprise/store/instance.h"

#include "postgres/open.h"
#include "reprise/base/journal_url.h"
#include "sqlite/instances.h"

namespace reprise {

std::string_view InstanceStateName(InstanceState s) {
  return s == InstanceState::kGone ? "gone" : "live";
}

StatusOr<std::vector<InstanceRecord>> ReadLiveInstances(std::string_view journal_url, std::string_view service) {
  REPRISE_ASSIGN_OR_RETURN(auto url, ParseJournalUrl(journal_url));
  if (url.backend == JournalUrl::Backend::kPostgres) return ReadPgLiveInstances(url, service);
  if (url.path == ":memory:") {
    return InvalidArgument("journal URL " + std::string(journal_url) + " names no shared file");
  }
  return ReadSqliteLiveInstances(url.path, service);
}

}  // namespace reprise
