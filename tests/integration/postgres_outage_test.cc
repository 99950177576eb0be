// PostgreSQL stopped and restarted under a recording host (a real process,
// reprise-test-host, delivering at a steady rate into a real server):
// in `async` durability the host keeps delivering, the recorder queues
// within its bound, drops what does not fit (counted in Describe),
// reconnects and flushes; in `process` durability Deliver fails clearly while
// the journal cannot commit, and succeeds again once it can.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/postgres_server.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::BinaryPath;
using testing::PostgresServer;
using testing::Subprocess;

struct Lines {
  std::vector<std::string> delivered, failed;
  bool flushed = false;  // the host finished delivering and flushed
};

// Reads the host's "delivered ID" / "failed ID: ..." / "flushed" lines for `d`.
void ReadFor(Subprocess& host, std::chrono::milliseconds d, Lines& out) {
  auto deadline = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < deadline) {
    auto line = host.ReadLine(200ms);
    if (!line) continue;
    if (line->rfind("delivered ", 0) == 0) out.delivered.push_back(line->substr(10));
    else if (line->rfind("failed ", 0) == 0) out.failed.push_back(line->substr(7));
    else if (*line == "flushed") out.flushed = true;
  }
}

v1::JournalHealth Health(v1::Agent::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  v1::DescribeResponse resp;
  grpc::Status st = stub.Describe(&ctx, {}, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.journal();
}

class PostgresOutageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = PostgresServer::Shared();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = *s;
    ASSERT_TRUE(server_->running());
    auto url = server_->NewJournalUrl();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
  }
  void TearDown() override {
    if (server_ && !server_->running()) (void)server_->Start();
  }

  // Starts the host and, once it is delivering, its API stub.
  std::optional<Subprocess> StartHost(std::unique_ptr<v1::Agent::Stub>& stub,
                                      std::vector<std::string> extra) {
    std::vector<std::string> argv = {BinaryPath("reprise-test-host"), "--journal", url_, "--listen",
                                     "127.0.0.1:0", "--deliver-forever", "--deliver-rate", "250"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto host = Subprocess::Start(argv);
    EXPECT_TRUE(host.has_value());
    if (!host) return host;
    auto listening = host->WaitForLine("listening on ", 30s);
    EXPECT_TRUE(listening.has_value()) << host->ReadAllStderr(1s);
    if (!listening) return host;
    const std::string address = listening->substr(listening->rfind(' ') + 1);
    EXPECT_TRUE(host->WaitForLine("delivering", 30s).has_value());
    stub = v1::Agent::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    return host;
  }

  PostgresServer* server_ = nullptr;
  std::string url_;
};

TEST_F(PostgresOutageTest, AsyncHostKeepsRunningReconnectsAndKeepsEveryAcceptedMessage) {
  // A queue bound small enough that the outage overflows it: drops must be
  // counted, and everything accepted must arrive.
  std::unique_ptr<v1::Agent::Stub> stub;
  auto host = StartHost(stub, {"--durability", "async", "--overload", "drop", "--max-queue-bytes",
                               "131072", "--deliver-for-ms", "7000"});
  ASSERT_TRUE(stub);
  Lines before, during, after;
  ReadFor(*host, 1500ms, before);
  ASSERT_GT(before.delivered.size(), 100u);
  // On a loaded machine the journal may fall behind even before the outage;
  // what the drop policy refused then is counted, not lost.
  const uint64_t dropped_before = Health(*stub).dropped();

  ASSERT_TRUE(server_->Stop().ok());
  ReadFor(*host, 2500ms, during);
  v1::JournalHealth down = Health(*stub);
  // The host went on delivering while the journal was away.
  EXPECT_GT(during.delivered.size(), 100u);
  EXPECT_TRUE(during.failed.empty()) << during.failed.front();
  EXPECT_FALSE(down.healthy()) << "Describe should report the journal's failure";
  EXPECT_TRUE(down.has_failing_since());
  EXPECT_NE(down.last_error().find("postgresql journal"), std::string::npos) << down.last_error();
  EXPECT_GT(down.dropped(), 0u) << "a 128 KiB queue cannot hold 2.5 s of traffic";
  EXPECT_LT(down.committed(), down.recorded());

  ASSERT_TRUE(server_->Start().ok());
  ASSERT_TRUE(during.flushed || host->WaitForLine("flushed", 60s).has_value());
  v1::JournalHealth up = Health(*stub);
  EXPECT_TRUE(up.healthy()) << up.last_error();
  EXPECT_EQ(up.last_error(), "");
  EXPECT_EQ(up.queued(), 0u);
  EXPECT_EQ(up.committed(), up.recorded()) << "every accepted record reached the journal";
  EXPECT_GE(up.dropped(), down.dropped());

  // The journal holds exactly what was accepted: nothing lost, nothing twice.
  auto journal = Journal::Open(url_);
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  auto total = (*journal)->Count("", "");
  ASSERT_TRUE(total.ok()) << total.status().ToString();
  EXPECT_EQ(total->front().count, up.recorded());
  // Without drops before the outage, everything delivered then was
  // accepted, so it is there.
  if (dropped_before == 0) {
    for (const std::string& id : before.delivered) {
      ASSERT_TRUE((*journal)->Get(id).ok()) << id << " was delivered before the outage and is missing";
    }
  }
  host->Kill(SIGTERM);
}

TEST_F(PostgresOutageTest, ProcessDurabilityFailsDeliverClearlyWhileTheJournalIsDown) {
  std::unique_ptr<v1::Agent::Stub> stub;
  auto host = StartHost(stub, {"--durability", "process", "--intent-log", "none", "--deliver-for-ms", "9000"});
  ASSERT_TRUE(stub);
  Lines before, during, after;
  ReadFor(*host, 1000ms, before);
  ASSERT_GT(before.delivered.size(), 10u);
  ASSERT_TRUE(before.failed.empty()) << before.failed.front();

  ASSERT_TRUE(server_->Stop().ok());
  ReadFor(*host, 2000ms, during);
  ASSERT_FALSE(during.failed.empty()) << "Deliver must not pretend success while nothing commits";
  EXPECT_NE(during.failed.back().find("UNAVAILABLE"), std::string::npos) << during.failed.back();
  EXPECT_NE(during.failed.back().find("could not be recorded"), std::string::npos)
      << during.failed.back();

  ASSERT_TRUE(server_->Start().ok());
  ReadFor(*host, 5000ms, after);
  EXPECT_GT(after.delivered.size(), 10u) << "delivery resumes once PostgreSQL is back";
  ASSERT_TRUE(after.flushed || host->WaitForLine("flushed", 60s).has_value());

  auto journal = Journal::Open(url_);
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  // Every Deliver that returned OK was committed (process durability).
  std::vector<std::string> ok = before.delivered;
  ok.insert(ok.end(), during.delivered.begin(), during.delivered.end());
  ok.insert(ok.end(), after.delivered.begin(), after.delivered.end());
  size_t missing = 0;
  for (const std::string& id : ok) missing += (*journal)->Get(id).ok() ? 0 : 1;
  EXPECT_EQ(missing, 0u) << missing << " of " << ok.size() << " acknowledged messages are missing";
  host->Kill(SIGTERM);
}

}  // namespace
}  // namespace reprise
