// The kill loop: kill -9 a real process again and again while it records
// (Deliver in `process` or `power` durability, from its main thread) and
// reflows (a job it started or resumed), and after every kill commit what
// its intent log held (as the next start does) and check the journal:
// SQLite's integrity check, jobs consistent with their items, and
// the durability promise (every Deliver that returned OK is in the journal,
// with its outcome). At the end one last process finishes every job.
//
// REPRISE_KILL_LOOP_KILLS sets the number of kills (default 50, the CI
// value), REPRISE_KILL_LOOP_SEED the seed of the kill times (default 1).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <cstdlib>
#include <random>
#include <thread>

#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::BinaryPath;
using testing::Subprocess;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// Runs `sql` and returns the first column of every row, joined by ",".
std::string Query(sqlite3* db, const std::string& sql) {
  std::string out;
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), [](void* o, int, char** v, char**) {
    auto* s = static_cast<std::string*>(o);
    *s += (s->empty() ? "" : ",") + std::string(v[0] ? v[0] : "NULL");
    return 0;
  }, &out, &err);
  if (rc != SQLITE_OK) out = "error: " + std::string(err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return out;
}

// What is wrong with the journal after a kill ("" when nothing): integrity,
// job/item consistency, and every acknowledged message present and handled.
std::string CheckJournal(const std::string& path, const std::vector<std::string>& acknowledged) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open the journal";
  }
  sqlite3_busy_timeout(db, 5000);
  std::string problems;
  auto expect = [&](const char* what, const std::string& sql, const std::string& want) {
    std::string got = Query(db, sql);
    if (got != want) problems += std::string(what) + ": got \"" + got + "\"; ";
  };
  expect("integrity_check", "PRAGMA integrity_check", "ok");
  expect("jobs whose total is not their item count",
         "SELECT count(*) FROM jobs j WHERE total != "
         "(SELECT count(*) FROM job_items i WHERE i.job_id = j.id)", "0");
  expect("jobs whose done/failed counters disagree with their items",
         "SELECT count(*) FROM jobs j WHERE "
         "done != (SELECT count(*) FROM job_items i WHERE i.job_id = j.id AND i.state = 2) OR "
         "failed != (SELECT count(*) FROM job_items i WHERE i.job_id = j.id AND i.state = 2 "
         "AND i.outcome = 3)", "0");
  expect("completed jobs with items not done",
         "SELECT count(*) FROM jobs WHERE state = 4 AND done != total", "0");
  expect("items selecting a message that does not exist",
         "SELECT count(*) FROM job_items i WHERE NOT EXISTS "
         "(SELECT 1 FROM messages m WHERE m.id = i.message_id)", "0");
  expect("done items whose copy does not exist",
         "SELECT count(*) FROM job_items i WHERE i.state = 2 AND i.copy_id IS NOT NULL AND "
         "NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = i.copy_id)", "0");
  expect("copies naming a job that does not exist",
         "SELECT count(*) FROM messages m WHERE m.job_id IS NOT NULL AND NOT EXISTS "
         "(SELECT 1 FROM jobs j WHERE j.id = CAST(m.job_id AS INTEGER))", "0");

  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT outcome FROM messages WHERE id = ?1", -1, &s, nullptr);
  size_t missing = 0, unfinished = 0;
  for (const std::string& id : acknowledged) {
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_ROW) ++missing;
    else if (sqlite3_column_int(s, 0) != 2) ++unfinished;  // ok
  }
  sqlite3_finalize(s);
  if (missing > 0) {
    problems += std::to_string(missing) + " of " + std::to_string(acknowledged.size()) +
                " acknowledged messages missing; ";
  }
  if (unfinished > 0) problems += std::to_string(unfinished) + " acknowledged messages not ok; ";
  sqlite3_close(db);
  return problems;
}

int UnfinishedJobs(const std::string& path) {
  sqlite3* db = nullptr;
  int n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    std::string r = Query(db, "SELECT count(*) FROM jobs WHERE state IN (1, 2)");
    n = r.empty() || r[0] == 'e' ? -1 : std::atoi(r.c_str());
  }
  sqlite3_close(db);
  return n;
}

std::optional<std::string> ListenAddress(Subprocess& host) {
  auto line = host.WaitForLine("listening on ", 60s);
  if (!line) return std::nullopt;
  return line->substr(line->find("listening on ") + 13);
}

TEST(KillLoopTest, KillNineWhileRecordingAndReflowingLosesNothingAcknowledged) {
  const int kills = EnvInt("REPRISE_KILL_LOOP_KILLS", 50);
  const int seed = EnvInt("REPRISE_KILL_LOOP_SEED", 1);
  ASSERT_GT(kills, 0);
  testing::TempDir dir;
  const std::string path = dir.File("kill.journal");
  std::mt19937 random(static_cast<unsigned>(seed));
  std::uniform_int_distribution<int> run_ms(60, 300);
  size_t acknowledged_total = 0, jobs_started = 0;

  for (int kill = 0; kill < kills; ++kill) {
    SCOPED_TRACE("kill " + std::to_string(kill + 1) + " of " + std::to_string(kills) +
                 " (REPRISE_KILL_LOOP_SEED=" + std::to_string(seed) + ")");
    const char* durability = kill % 5 == 4 ? "power" : "process";
    auto host = Subprocess::Start({BinaryPath("reprise-test-host"), "--journal", "sqlite:" + path,
                                   "--listen", "127.0.0.1:0", "--no-seed", "--durability",
                                   durability, "--deliver-forever"});
    ASSERT_TRUE(host.has_value());
    auto address = ListenAddress(*host);
    ASSERT_TRUE(address.has_value()) << host->ReadAllStderr(1s);
    // A reflow job runs alongside the recording: a new one when the last
    // one finished, else the one this process resumed.
    if (UnfinishedJobs(path) == 0) {
      auto stub = v1::Agent::NewStub(grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 10s);
      v1::StartReflowRequest req;
      req.set_filter("channel = \"payments.received\"");
      req.set_concurrency(2);
      req.set_limit(150);
      req.set_reason("kill loop");
      v1::StartReflowResponse resp;
      grpc::Status st = stub->StartReflow(&ctx, req, &resp);
      // The first process may not have recorded anything to select yet.
      if (st.ok()) ++jobs_started;
    }
    std::vector<std::string> acknowledged;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms(random));
    while (std::chrono::steady_clock::now() < deadline) {
      auto line = host->ReadLine(50ms);
      if (line && line->rfind("delivered ", 0) == 0) acknowledged.push_back(line->substr(10));
    }
    host->Kill(SIGKILL);
    // Lines already in the pipe were printed after Deliver returned, too.
    while (auto line = host->ReadLine(20ms)) {
      if (line->rfind("delivered ", 0) == 0) acknowledged.push_back(line->substr(10));
    }
    acknowledged_total += acknowledged.size();
    // What the intent log held goes to the journal first, as at the next start.
    ASSERT_EQ(testing::RecoverIntentLog(path), "");
    std::string problems = CheckJournal(path, acknowledged);
    ASSERT_EQ(problems, "") << "after kill -9 in " << durability << " durability";
  }
  EXPECT_GT(acknowledged_total, static_cast<size_t>(kills)) << "the host should have delivered";
  EXPECT_GT(jobs_started, 0u) << "reflow jobs should have run";

  // A last process (not killed) finishes every job the kills interrupted.
  auto host = Subprocess::Start({BinaryPath("reprise-test-host"), "--journal", "sqlite:" + path,
                                 "--listen", "127.0.0.1:0", "--no-seed"});
  ASSERT_TRUE(host.has_value());
  ASSERT_TRUE(ListenAddress(*host).has_value());
  int unfinished = -1;
  for (int i = 0; i < 600 && (unfinished = UnfinishedJobs(path)) != 0; ++i) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(unfinished, 0) << "every interrupted job should complete";
  host->Kill(SIGTERM);
  EXPECT_EQ(CheckJournal(path, {}), "");
  // The checks had something to check: items replayed, some of them again
  // because a kill hit them in flight.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string done = Query(db, "SELECT coalesce(sum(done), 0) FROM jobs");
  std::string redelivered = Query(db, "SELECT coalesce(sum(redelivered), 0) FROM jobs");
  sqlite3_close(db);
  EXPECT_GT(std::atoi(done.c_str()), 0) << done;
  std::printf("kill loop: %d kills, %zu acknowledged messages checked, %zu reflow jobs started, "
              "%s items replayed (%s again after a kill)\n",
              kills, acknowledged_total, jobs_started, done.c_str(), redelivered.c_str());
}

}  // namespace
}  // namespace reprise
