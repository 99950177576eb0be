#include "reprise/base/journal_url.h"

#include <utility>
#include <vector>

namespace reprise {
namespace {

std::vector<std::string_view> SplitParams(std::string_view query) {
  std::vector<std::string_view> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    if (amp != 0) out.push_back(query.substr(0, amp));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::string Join(const std::vector<std::string_view>& params) {
  std::string out;
  for (std::string_view p : params) out += (out.empty() ? "" : "&") + std::string(p);
  return out;
}

StatusOr<JournalUrl> ParseSqlite(std::string_view rest) {
  JournalUrl u;
  u.backend = JournalUrl::Backend::kSqlite;
  size_t q = rest.find('?');
  u.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) {
    for (std::string_view option : SplitParams(rest.substr(q + 1))) {
      if (option.substr(0, 4) == "vfs=" && option.size() > 4) {
        u.vfs = std::string(option.substr(4));
      } else {
        return InvalidArgument("journal URL option \"" + std::string(option) +
                               "\" is unknown; sqlite:PATH takes ?vfs=NAME only");
      }
    }
  }
  if (u.path.empty()) {
    return InvalidArgument("journal URL \"sqlite:\" names no file; use sqlite:PATH, e.g. sqlite:service.journal");
  }
  u.display = "sqlite:" + u.path;
  return u;
}

StatusOr<JournalUrl> ParsePostgres(std::string_view url) {
  JournalUrl u;
  u.backend = JournalUrl::Backend::kPostgres;
  u.append = "copy";
  size_t q = url.find('?');
  std::string base(url.substr(0, q));
  std::vector<std::string_view> kept, shown;
  if (q != std::string_view::npos) {
    for (std::string_view param : SplitParams(url.substr(q + 1))) {
      if (param.substr(0, 15) == "reprise_append=") {
        u.append = std::string(param.substr(15));
        if (u.append != "copy" && u.append != "insert" && u.append != "pipeline") {
          return InvalidArgument("journal URL: reprise_append=" + u.append + " is not copy, insert or pipeline");
        }
      } else if (param.substr(0, 8) == "reprise_") {
        return InvalidArgument("journal URL: parameter \"" + std::string(param) +
                               "\" is unknown; Reprise takes reprise_append=copy|insert|pipeline");
      } else {
        kept.push_back(param);
        if (param.substr(0, 9) != "password=") shown.push_back(param);
      }
    }
  }
  u.libpq = base + (kept.empty() ? "" : "?" + Join(kept));
  // postgresql://user:secret@host/db -> postgresql://user@host/db
  std::string display = base;
  size_t scheme = display.find("://");
  if (scheme != std::string::npos) {
    size_t at = display.find('@', scheme + 3);
    size_t slash = display.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = display.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) display.erase(colon, at - colon);
    }
  }
  u.display = display + (shown.empty() ? "" : "?" + Join(shown));
  return u;
}

}  // namespace

StatusOr<JournalUrl> ParseJournalUrl(std::string_view url) {
  if (url.substr(0, 7) == "sqlite:") return ParseSqlite(url.substr(7));
  if (url.substr(0, 13) == "postgresql://" || url.substr(0, 11) == "postgres://") return ParsePostgres(url);
  return InvalidArgument("unknown journal URL \"" + std::string(url) +
                         "\"; expected sqlite:PATH (e.g. sqlite:service.journal) or "
                         "postgresql://[user@]host[:port]/database");
}

}  // namespace reprise
