// Measures the PostgreSQL journal's three ways of appending a batch of
// messages (binary COPY, multi-row INSERT ... ON CONFLICT DO NOTHING, and
// single-row INSERTs in libpq's pipeline mode) on the same table, same rows,
// same batches, alternating runs. Not a test: it prints messages per second
// for docs/fleet.md.
//
//   build/tests/pg_append_measure [--messages N] [--batch B] [--payload BYTES] [--runs R]
// It starts its own server (tests/support/postgres_server.h, fsync off) and
// gives each run a fresh schema.
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "reprise/base/ulid.h"
#include "reprise/store/journal.h"
#include "support/postgres_server.h"

namespace {

using Clock = std::chrono::steady_clock;

double Run(const std::string& url, const std::string& method, int messages, int batch, int payload) {
  auto journal = reprise::Journal::Open(url + "&reprise_append=" + method);
  if (!journal.ok()) {
    std::fprintf(stderr, "open: %s\n", journal.status().ToString().c_str());
    std::exit(1);
  }
  reprise::UlidGenerator ids;
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::string body = "{\"amount\":\"12.50\",\"currency\":\"EUR\",\"note\":\"";
  while (body.size() + 2 < static_cast<size_t>(payload)) body += 'x';
  body += "\"}";
  // Build every batch first: only the writes are timed.
  std::vector<reprise::WriteBatch> batches;
  for (int i = 0; i < messages; i += batch) {
    reprise::WriteBatch b;
    for (int k = i; k < std::min(messages, i + batch); ++k) {
      reprise::Message m;
      m.recorded_at_us = now + k;
      m.id = ids.Next(m.recorded_at_us / 1000);
      m.channel = "payments.received";
      m.key = "account:" + std::to_string(k % 1000);
      m.correlation_id = "c-" + std::to_string(k);
      m.headers = {{"tenant", "acme"}};
      m.payload = body;
      m.content_type = "application/json";
      m.outcome = reprise::Outcome::kOk;
      b.messages.push_back(std::move(m));
    }
    batches.push_back(std::move(b));
  }
  // The day's partition exists before timing starts.
  reprise::WriteBatch warm;
  warm.messages.push_back(batches.front().messages.front());
  warm.messages.front().id = ids.Next(now / 1000 - 1);
  (void)(*journal)->Write(warm, false);
  auto start = Clock::now();
  for (const auto& b : batches) {
    auto st = (*journal)->Write(b, false);
    if (!st.ok()) {
      std::fprintf(stderr, "write: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return messages / secs;
}

}  // namespace

int main(int argc, char** argv) {
  int messages = 200000, batch = 1000, payload = 256, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--messages") messages = std::stoi(argv[i + 1]);
    else if (a == "--batch") batch = std::stoi(argv[i + 1]);
    else if (a == "--payload") payload = std::stoi(argv[i + 1]);
    else if (a == "--runs") runs = std::stoi(argv[i + 1]);
  }
  auto server = reprise::testing::PostgresServer::Shared();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::printf("%d messages, batches of %d, %d-byte JSON payloads, best of %d runs\n", messages,
              batch, payload, runs);
  std::map<std::string, double> best;
  for (int r = 0; r < runs; ++r) {
    for (const char* method : {"copy", "insert", "pipeline"}) {
      auto u = (*server)->NewJournalUrl();
      if (!u.ok()) {
        std::fprintf(stderr, "%s\n", u.status().ToString().c_str());
        return 1;
      }
      double rate = Run(*u, method, messages, batch, payload);
      std::printf("  run %d %-6s %9.0f messages/s\n", r + 1, method, rate);
      std::fflush(stdout);
      best[method] = std::max(best[method], rate);
    }
  }
  std::printf("best: copy %.0f, insert %.0f, pipeline %.0f messages/s; copy/insert %.2f, "
              "copy/pipeline %.2f\n",
              best["copy"], best["insert"], best["pipeline"], best["copy"] / best["insert"],
              best["copy"] / best["pipeline"]);
  return 0;
}
