// A real PostgreSQL server for tests (and the benchmarks, which link this
// through reprise_pg_server): one per process, started on first use and
// stopped when the process exits.
//
// The data directory is a copy of a template cluster that `initdb` made once
// per build tree (build/postgres-template), which keeps a server start well
// under a second. PostgreSQL refuses to run as root, so under root initdb and
// the server run as the `postgres` system user. The server listens only on a
// Unix socket in its own temporary directory: no TCP port, so any number of
// test processes and sessions can run side by side.
//
// PostgreSQL missing is a failure, not a skip: ./dev installs it.
#pragma once

#include <string>

#include "reprise/base/status.h"

namespace reprise::testing {

class PostgresServer {
 public:
  // The server of this test process, started on first use. Errors say what
  // is missing (e.g. the binaries under /usr/lib/postgresql/15/bin).
  static StatusOr<PostgresServer*> Shared();

  // A journal URL (postgresql://...) for a schema of its own, created empty
  // now: every test gets a fresh journal without paying for a database.
  StatusOr<std::string> NewJournalUrl();
  // A fresh database (slower than a schema; for tests that need a database
  // of their own, e.g. for LISTEN/NOTIFY) and a URL naming it.
  StatusOr<std::string> NewDatabaseUrl();

  // For outage tests: stop the server (fast shutdown: clients are cut off)
  // and start it again on the same data and socket.
  Status Stop();
  Status Start();
  bool running() const { return pid_ > 0; }

  // Directory of the server's socket (libpq's `host`).
  const std::string& socket_dir() const { return run_dir_; }
  // Runs SQL as the superuser against `database`; returns the first column
  // of the first row ("" when there is none).
  StatusOr<std::string> Query(const std::string& database, const std::string& sql);

  ~PostgresServer();

 private:
  PostgresServer() = default;
  Status Init();

  std::string dir_;      // temporary directory, removed at the end
  std::string run_dir_;  // dir_/run: data, socket and log, owned by the server's user
  int pid_ = -1;
  int next_schema_ = 0;
};

}  // namespace reprise::testing
