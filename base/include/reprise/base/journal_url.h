// Journal URLs, as the agent, the console's fleet mode and the tools take them:
//   sqlite:PATH[?vfs=NAME]      the embedded default (vfs: tests' fault injection)
//   sqlite::memory:             a private in-memory journal (tests)
//   postgresql://...            a libpq URL (also postgres://), shared by a
//                               fleet; Reprise's own parameter
//                               reprise_append=copy|insert|pipeline is taken
//                               out before the URL reaches libpq
#pragma once

#include <string>
#include <string_view>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

struct JournalUrl {
  enum class Backend { kSqlite, kPostgres };
  Backend backend = Backend::kSqlite;
  // SQLite.
  std::string path;  // the file, or ":memory:"
  std::string vfs;   // "" = SQLite's default VFS
  // PostgreSQL.
  std::string libpq;   // the URL without Reprise's parameters, for libpq
  std::string append;  // reprise_append: "copy" (default), "insert" or "pipeline"
  // The URL to show in messages and Describe: a PostgreSQL password removed.
  std::string display;
};

// INVALID_ARGUMENT, saying what a journal URL looks like, for anything else.
REPRISE_EXPORT StatusOr<JournalUrl> ParseJournalUrl(std::string_view url);

}  // namespace reprise
