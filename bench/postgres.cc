// The PostgreSQL backend's appends against COPY of the same rows, in the same
// run on the same server: messages recorded through the agent (Recorder ->
// PgJournal, which appends with binary COPY per batch) into one journal, and
// a hand-written text COPY of rows shaped the same, in transactions of
// 10,000, into the same schema of another journal: the raw limit.
//
// The server is a throwaway one, started the way the tests start theirs
// (tests/support/postgres_server.h: a copy of an initdb'd template cluster,
// Unix socket only, fsync off).
#include <libpq-fe.h>

#include <memory>

#include "bench.h"
#include "reprise/agent/agent.h"
#include "reprise/base/hex.h"
#include "reprise/store/journal.h"
#include "support/postgres_server.h"

namespace reprise::bench {
namespace {

double Elapsed(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

constexpr uint64_t kCopyBatch = 10000;

// A text COPY field: \N for "", else the text with COPY's escapes.
void Field(std::string& out, std::string_view v) {
  if (v.empty()) {
    out += "\\N";
    return;
  }
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

// bytea in hex form ("\x4142"), escaped for COPY's text format.
void Bytea(std::string& out, std::string_view v) {
  out += "\\\\x";
  out += HexEncode(v);
}

// The rows RecordInbound makes: no headers, a JSON payload (so payload_json
// holds it too), pending, first attempt.
void Row(std::string& out, const Message& m) {
  out += m.id;
  out += "\t1\t";
  Field(out, m.channel);
  out += '\t';
  Field(out, m.key);
  out += '\t';
  Field(out, m.correlation_id);
  out += "\t\\N\t\\N\t";  // causation_id, headers
  Bytea(out, m.payload);
  out += '\t';
  Field(out, m.payload);  // payload_json
  out += '\t';
  Field(out, m.content_type);
  out += '\t' + std::to_string(m.recorded_at_us) + '\t' +
         std::to_string(static_cast<int>(m.outcome)) + "\t\\N\t1\t\\N\t\\N\t\\N\n";
}

Status Run(PGconn* c, const std::string& sql) {
  std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(c, sql.c_str()), PQclear);
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return Unavailable(sql + ": " + PQresultErrorMessage(r.get()));
  }
  return Status::Ok();
}

// A fresh journal (schema) on the server, with today's partition made by the
// journal itself, so that neither side pays for it while timed.
StatusOr<std::string> FreshJournal(testing::PostgresServer& server) {
  REPRISE_ASSIGN_OR_RETURN(auto url, server.NewJournalUrl());
  REPRISE_ASSIGN_OR_RETURN(auto j, Journal::Open(url));
  UlidGenerator ids;
  Message m;
  m.channel = "bench.warm";
  m.key = "warm";
  Stamp(m, ids);
  WriteBatch b;
  b.messages.push_back(m);
  REPRISE_RETURN_IF_ERROR((j)->Write(b, false));
  return url;
}

StatusOr<uint64_t> Rows(const std::string& url) {
  REPRISE_ASSIGN_OR_RETURN(auto j, Journal::Open(url));
  REPRISE_ASSIGN_OR_RETURN(auto n, (j)->Count("channel != \"bench.warm\"", ""));
  return n.empty() ? 0 : n.front().count;
}

// Messages/s of text COPY of `n` rows, 10,000 per transaction, with the
// agent's async durability (synchronous_commit off).
StatusOr<double> CopyRate(const std::string& url, uint64_t n, uint64_t keys) {
  RowSource src(256, keys, 5);
  UlidGenerator ids;
  std::vector<Message> rows(n);
  for (uint64_t i = 0; i < n; ++i) {
    rows[i].channel = src.Channel(i);
    rows[i].key = src.Key();
    rows[i].payload = src.Payload(i);
    rows[i].content_type = "application/json";
    Stamp(rows[i], ids);
  }
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(PQconnectdb(url.c_str()), PQfinish);
  PGconn* c = conn.get();
  if (PQstatus(c) != CONNECTION_OK) return Unavailable(PQerrorMessage(c));
  const std::string copy =
      "COPY messages (id, direction, channel, message_key, correlation_id, causation_id, "
      "headers, payload, payload_json, content_type, recorded_at, outcome, error, attempt, "
      "origin_id, job_id, flow_variant) FROM STDIN";
  std::string buf;
  const auto start = Clock::now();
  for (uint64_t at = 0; at < n; at += kCopyBatch) {
    REPRISE_RETURN_IF_ERROR(Run(c, "BEGIN"));
    REPRISE_RETURN_IF_ERROR(Run(c, "SET LOCAL synchronous_commit = off"));
    {
      std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQexec(c, copy.c_str()), PQclear);
      if (PQresultStatus(r.get()) != PGRES_COPY_IN) {
        return Unavailable("COPY: " + std::string(PQresultErrorMessage(r.get())));
      }
    }
    buf.clear();
    for (uint64_t i = at; i < std::min(n, at + kCopyBatch); ++i) {
      Row(buf, rows[i]);
      if (buf.size() >= 256 * 1024) {
        if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
          return Unavailable(std::string("COPY: ") + PQerrorMessage(c));
        }
        buf.clear();
      }
    }
    if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1 ||
        PQputCopyEnd(c, nullptr) != 1) {
      return Unavailable(std::string("COPY: ") + PQerrorMessage(c));
    }
    std::unique_ptr<PGresult, void (*)(PGresult*)> r(PQgetResult(c), PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return Unavailable("COPY: " + std::string(PQresultErrorMessage(r.get())));
    }
    while (PGresult* more = PQgetResult(c)) PQclear(more);
    REPRISE_RETURN_IF_ERROR(Run(c, "COMMIT"));
  }
  return static_cast<double>(n) / Elapsed(start);
}

// Messages/s recorded through the agent (async, one producer thread),
// counted until Flush returns, i.e. until every message is committed.
StatusOr<double> AgentRate(const std::string& url, uint64_t n, uint64_t keys) {
  REPRISE_ASSIGN_OR_RETURN(auto agent, Agent::Start({.service = "bench", .journal = url, .listen = ""}));
  RowSource src(256, keys, 6);
  const auto start = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    REPRISE_ASSIGN_OR_RETURN(auto id, (agent)->RecordInbound(src.Channel(i), src.Key(), src.Payload(i),
                                                             {.content_type = "application/json"}));
  }
  REPRISE_RETURN_IF_ERROR((agent)->Flush());
  return static_cast<double>(n) / Elapsed(start);
}

}  // namespace

void RunPostgres(const Settings& s, Report& r) {
  const uint64_t n = s.Count(200000, 100000, 2000);
  const int runs = static_cast<int>(s.Count(3, 2, 1));
  const uint64_t keys = 100000;
  Figure f{.section = "throughput",
           .name = "PostgreSQL appends through the agent (async, 1 caller), " + std::to_string(n) +
                   " messages",
           .unit = "msg/s",
           .baseline_name = "COPY",
           .target = ">= 0.7 x COPY"};
  auto not_measured = [&](const std::string& why) {
    f.met.reset();
    f.note = "not measured: " + why;
    std::fprintf(stderr, "bench: postgresql: %s\n", why.c_str());
    r.Add(f);
  };
  auto server = testing::PostgresServer::Shared();
  if (!server.ok()) return not_measured("no PostgreSQL server: " + server.status().ToString());

  // Alternating runs, each side in a fresh journal; the best of each.
  double agent_best = 0, copy_best = 0;
  for (int run = 0; run < runs; ++run) {
    auto copy_url = FreshJournal(**server);
    if (!copy_url.ok()) return not_measured(copy_url.status().ToString());
    auto copy = CopyRate(*copy_url, n, keys);
    if (!copy.ok()) return not_measured("COPY: " + copy.status().ToString());
    auto agent_url = FreshJournal(**server);
    if (!agent_url.ok()) return not_measured(agent_url.status().ToString());
    auto agent = AgentRate(*agent_url, n, keys);
    if (!agent.ok()) return not_measured("agent: " + agent.status().ToString());
    // Both journals must hold every row: a rate of rows lost means nothing.
    for (const std::string* url : {&*copy_url, &*agent_url}) {
      auto rows = Rows(*url);
      if (!rows.ok()) return not_measured(rows.status().ToString());
      if (*rows != n) {
        return not_measured("a journal holds " + std::to_string(*rows) + " of " +
                            std::to_string(n) + " messages");
      }
    }
    std::printf("    run %d: agent %.0f msg/s, COPY %.0f msg/s\n", run + 1, *agent, *copy);
    agent_best = std::max(agent_best, *agent);
    copy_best = std::max(copy_best, *copy);
  }
  f.value = agent_best;
  f.baseline = copy_best;
  f.met = agent_best >= 0.7 * copy_best;
  f.note = "best of " + std::to_string(runs);
  r.Add(f);
}

}  // namespace reprise::bench
