// Fleet mode end to end: three real test-host processes share one journal,
// on each backend: a SQLite file (WAL lets processes on one host share a
// file) and a PostgreSQL server the test starts. A reflow started
// through one is shared by all three; kill -9 of one mid-job loses and
// doubles nothing except the items it had in flight, which are marked; a
// flow change through one instance reaches the other two within a second.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <map>
#include <thread>

#include "reprise/store/instance.h"
#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/postgres_server.h"
#include "support/reflow_copies.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::BinaryPath;
using testing::Subprocess;

struct Host {
  Subprocess process;
  std::string address;
  std::unique_ptr<v1::Agent::Stub> stub;
};

// Fleet settings short enough for a test: heartbeats every 200 ms, gone
// after 1.5 s of silence, leases of 3 s.
std::optional<Host> StartHost(const std::string& journal, const std::string& instance,
                              std::vector<std::string> extra) {
  std::vector<std::string> argv = {BinaryPath("reprise-test-host"), "--journal", journal,
                                   "--listen", "127.0.0.1:0", "--instance", instance,
                                   "--heartbeat-ms", "200", "--gone-after-ms", "1500",
                                   "--lease-ms", "3000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = Subprocess::Start(argv);
  if (!p) return std::nullopt;
  auto line = p->WaitForLine("listening on ", 60s);
  if (!line) return std::nullopt;
  std::string address = line->substr(line->find("listening on ") + 13);
  Host h{std::move(*p), address,
         v1::Agent::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))};
  return h;
}

v1::Job GetJob(v1::Agent::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  v1::GetJobRequest req;
  req.set_id(id);
  v1::Job job;
  grpc::Status st = stub.GetJob(&ctx, req, &job);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return job;
}

// Items of `job` per claiming instance, read from the SQLite file itself.
std::map<std::string, int> SqliteClaims(const std::string& path, const std::string& job) {
  std::map<std::string, int> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT coalesce(claimed_by, ''), count(*) FROM job_items WHERE job_id = ?1 "
                       "GROUP BY 1",
                       -1, &s, nullptr);
    sqlite3_bind_int64(s, 1, std::stoll(job));
    while (sqlite3_step(s) == SQLITE_ROW) {
      out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// A fresh journal on the backend under test, and who claimed a job's items
// in it (read past the agents: straight from the file or the server).
class FleetTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      path_ = dir_.File("fleet.journal");
      journal_ = "sqlite:" + path_;
      return;
    }
    auto server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *server;
    auto url = server_->NewJournalUrl();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    journal_ = *url;
    schema_ = journal_.substr(journal_.find("search_path%3D") + 14);
  }
  std::map<std::string, int> ClaimsByInstance(const std::string& job) {
    if (!server_) return SqliteClaims(path_, job);
    // "instance=count,..." in one value: Query returns the first column only.
    auto rows = server_->Query(
        "postgres", "SELECT string_agg(c || '=' || n, ',') FROM (SELECT coalesce(claimed_by, '') c, "
                    "count(*) n FROM " + schema_ + ".job_items WHERE job_id = " + job + " GROUP BY 1) t");
    std::map<std::string, int> out;
    if (!rows.ok()) {
      ADD_FAILURE() << rows.status().ToString();
      return out;
    }
    std::string all = *rows;
    for (size_t at = 0; at < all.size();) {
      size_t end = all.find(',', at);
      if (end == std::string::npos) end = all.size();
      std::string pair = all.substr(at, end - at);
      size_t eq = pair.rfind('=');
      out[pair.substr(0, eq)] = std::stoi(pair.substr(eq + 1));
      at = end + 1;
    }
    return out;
  }

  testing::TempDir dir_;
  std::string path_;     // SQLite file
  std::string journal_;  // the URL every host opens
  testing::PostgresServer* server_ = nullptr;
  std::string schema_;   // PostgreSQL schema of this test's journal
};

INSTANTIATE_TEST_SUITE_P(Backends, FleetTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST_P(FleetTest, ThreeInstancesShareAReflowAndAKill9LosesAndDoublesNothingUnmarked) {
  const std::string& journal = journal_;
  constexpr int kMessages = 600;
  {
    auto buggy = StartHost(journal, "seeder", {"--no-seed", "--seed-failures", std::to_string(kMessages), "--seed-keys", "60"});
    ASSERT_TRUE(buggy.has_value());
    buggy->process.Kill(SIGTERM);
  }
  std::vector<Host> hosts;
  for (const char* name : {"fleet-a", "fleet-b", "fleet-c"}) {
    auto h = StartHost(journal, name, {"--no-seed", "--fixed", "--handler-delay-ms", "5"});
    ASSERT_TRUE(h.has_value()) << name;
    hosts.push_back(std::move(*h));
  }
  {
    auto j = Journal::Open(journal);
    ASSERT_TRUE(j.ok());
    auto live = (*j)->instances().ListInstances("test-host", false);
    ASSERT_TRUE(live.ok());
    ASSERT_EQ(live->size(), 3u) << "the three hosts are registered and live";
  }

  grpc::ClientContext ctx;
  v1::StartReflowRequest req;
  req.set_filter("outcome = failed and channel = \"payments.received\"");
  req.set_concurrency(2);
  v1::StartReflowResponse resp;
  grpc::Status started = hosts[0].stub->StartReflow(&ctx, req, &resp);
  ASSERT_TRUE(started.ok()) << started.error_message();
  const std::string id = resp.job().id();
  ASSERT_EQ(resp.job().total(), static_cast<uint64_t>(kMessages));

  // Kill -9 fleet-b once it is delivering its share.
  for (int i = 0; i < 1500 && ClaimsByInstance(id)["fleet-b"] < 20; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(ClaimsByInstance(id)["fleet-b"], 20) << "fleet-b never joined the job";
  ASSERT_LT(GetJob(*hosts[0].stub, id).done(), static_cast<uint64_t>(kMessages))
      << "killed too late to test anything";
  hosts[1].process.Kill(SIGKILL);

  v1::Job job;
  for (int i = 0; i < 3000; ++i) {
    job = GetJob(*hosts[2].stub, id);
    if (job.state() != v1::RUNNING) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(job.state(), v1::COMPLETED) << job.reason();
  EXPECT_EQ(job.done(), static_cast<uint64_t>(kMessages));
  std::map<std::string, int> claims = ClaimsByInstance(id);
  EXPECT_GT(claims["fleet-a"], 0);
  // fleet-b's items that it had not completed were claimed again by the others.
  EXPECT_GT(claims["fleet-c"], 0);
  EXPECT_EQ(claims.count(""), 0u) << "every item was claimed by someone";

  // Each selected message: exactly one ok copy that is not marked; more
  // copies only for items in flight at the kill, each repeat marked.
  auto j = Journal::Open(journal);
  ASSERT_TRUE(j.ok());
  auto listed = testing::CopiesByOrigin(**j, id, "payments.received");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  const std::map<std::string, std::vector<Message>>& copies = *listed;
  EXPECT_EQ(copies.size(), static_cast<size_t>(kMessages));
  size_t marked_items = 0;
  for (const auto& [origin, list] : copies) {
    size_t ok = 0, marked = 0;
    for (const Message& c : list) {
      if (c.outcome == Outcome::kOk) ++ok;
      if (c.headers.count("reprise-redelivery")) ++marked;
    }
    EXPECT_GE(ok, 1u) << origin;
    if (marked == 0) {
      EXPECT_EQ(list.size(), 1u) << origin << ": a repeat must be marked";
      EXPECT_EQ(ok, 1u) << origin;
    } else {
      ++marked_items;
      EXPECT_EQ(marked, 1u) << origin << ": one instance died, so at most one repeat";
    }
  }
  // fleet-b claimed at most one batch (256) before it died.
  EXPECT_LE(marked_items, 256u);
  EXPECT_GE(job.redelivered(), marked_items > 0 ? 1u : 0u);

  // The dead instance is marked gone (1.5 s after its last heartbeat, which
  // may be after the job ended); the others are live.
  std::map<std::string, InstanceState> states;
  for (int i = 0; i < 250 && states["fleet-b"] != InstanceState::kGone; ++i) {
    if (i > 0) std::this_thread::sleep_for(20ms);
    auto all = (*j)->instances().ListInstances("test-host", true);
    ASSERT_TRUE(all.ok());
    for (const InstanceRecord& r : *all) states[r.id] = r.state;
  }
  EXPECT_EQ(states["fleet-a"], InstanceState::kLive);
  EXPECT_EQ(states["fleet-b"], InstanceState::kGone);
  EXPECT_EQ(states["fleet-c"], InstanceState::kLive);
  EXPECT_EQ(states["seeder"], InstanceState::kGone);
}

std::string Probe(v1::Agent::Stub& stub, const std::string& key) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::InvokeKnobRequest req;
  req.set_name("flow.probe");
  (*req.mutable_args())["keys"] = key;
  v1::InvokeKnobResponse resp;
  grpc::Status st = stub.InvokeKnob(&ctx, req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.result();
}

TEST_P(FleetTest, AFlowChangeThroughOneInstanceReachesTheOtherTwoWithinASecond) {
  const std::string& journal = journal_;
  std::vector<Host> hosts;
  for (const char* name : {"flow-a", "flow-b", "flow-c"}) {
    auto h = StartHost(journal, name, {"--no-seed", "--flows"});
    ASSERT_TRUE(h.has_value()) << name;
    hosts.push_back(std::move(*h));
  }
  for (Host& h : hosts) ASSERT_EQ(Probe(*h.stub, "account:7"), "account:7=v1");

  grpc::ClientContext ctx;
  v1::SetFlowRequest set;
  set.set_flow("test.flow");
  (*set.mutable_assign())["account:7"] = "v2";
  set.set_reason("fleet test");
  v1::SetFlowResponse done;
  grpc::Status st = hosts[0].stub->SetFlow(&ctx, set, &done);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const auto changed = std::chrono::steady_clock::now();
  EXPECT_EQ(Probe(*hosts[0].stub, "account:7"), "account:7=v2") << "at once where it was made";
  for (size_t i = 1; i < hosts.size(); ++i) {
    std::string seen;
    while (std::chrono::steady_clock::now() - changed < 3s) {
      seen = Probe(*hosts[i].stub, "account:7");
      if (seen == "account:7=v2") break;
      std::this_thread::sleep_for(20ms);
    }
    auto after = std::chrono::steady_clock::now() - changed;
    EXPECT_EQ(seen, "account:7=v2");
    EXPECT_LT(after, 1s) << "instance " << i << " saw the change after "
                         << std::chrono::duration_cast<std::chrono::milliseconds>(after).count() << " ms";
  }
}

}  // namespace
}  // namespace reprise
