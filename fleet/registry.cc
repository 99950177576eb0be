#include "reprise/fleet/registry.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <memory>

#include "reprise/base/journal_url.h"

namespace reprise::fleet {
namespace {

constexpr const char* kQuery =
    "SELECT id, service, host, pid, address, agent_version, started_at, heartbeat_at "
    "FROM instances WHERE state = 1 AND (%s = '' OR service = %s) ORDER BY service, id";

std::string Query(const char* param) {
  char buf[512];
  std::snprintf(buf, sizeof buf, kQuery, param, param);
  return buf;
}

ReadResult FromSqlite(const std::string& path, const std::string& service) {
  ReadResult out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    out.error = "cannot open journal " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, Query("?1").c_str(), -1, &s, nullptr) != SQLITE_OK) {
    out.error = "journal " + path + " has no instance registry (" + sqlite3_errmsg(db) +
                "); is it a Reprise journal of schema 5 or later?";
    sqlite3_close(db);
    return out;
  }
  sqlite3_bind_text(s, 1, service.c_str(), -1, SQLITE_TRANSIENT);
  auto text = [&](int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.instances.push_back({text(0), text(1), text(2), sqlite3_column_int64(s, 3), text(4), text(5),
                             sqlite3_column_int64(s, 6), sqlite3_column_int64(s, 7)});
  }
  if (rc != SQLITE_DONE) out.error = "reading the instance registry: " + std::string(sqlite3_errmsg(db));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

ReadResult FromPostgres(const std::string& url, const std::string& service) {
  ReadResult out;
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    out.error = "cannot connect to the journal: " + std::string(PQerrorMessage(conn.get()));
    while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
    return out;
  }
  const char* values[1] = {service.c_str()};
  std::unique_ptr<PGresult, decltype(&PQclear)> r(
      PQexecParams(conn.get(), Query("$1::text").c_str(), 1, nullptr, values, nullptr, nullptr, 0), &PQclear);
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    out.error = "reading the instance registry: " + std::string(PQresultErrorMessage(r.get()));
    while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
    return out;
  }
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    auto text = [&](int c) { return std::string(PQgetvalue(r.get(), i, c)); };
    out.instances.push_back({text(0), text(1), text(2), std::strtoll(text(3).c_str(), nullptr, 10), text(4),
                             text(5), std::strtoll(text(6).c_str(), nullptr, 10),
                             std::strtoll(text(7).c_str(), nullptr, 10)});
  }
  return out;
}

}  // namespace

ReadResult ReadLiveInstances(const std::string& url, const std::string& service) {
  auto parsed = ParseJournalUrl(url);
  if (!parsed.ok()) return {{}, parsed.status().message()};
  if (parsed->backend == JournalUrl::Backend::kPostgres) return FromPostgres(parsed->libpq, service);
  if (parsed->path == ":memory:") return {{}, "journal URL " + url + " names no shared file"};
  return FromSqlite(parsed->path, service);
}

}  // namespace reprise::fleet
