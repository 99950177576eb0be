// Journal faults under a running agent: a full disk and I/O errors injected
// through the fault-injecting SQLite VFS, and a corrupt journal file. The
// host keeps running, nothing committed before the fault is lost, the fault
// shows in Describe (real gRPC) and in the console's `status` (the real
// binary), and recording resumes when the fault clears.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"

#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/fault_vfs.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::FaultVfs;

class JournalFaultTest : public ::testing::Test {
 protected:
  void Start(AgentOptions options) {
    FaultVfs::Register();
    options.service = "faulty";
    options.journal = "sqlite:" + dir_.File("f.journal") + "?vfs=" + FaultVfs::kName;
    options.listen = "127.0.0.1:0";
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", [](const Message&, Context&) { return Status::Ok(); });
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    FaultVfs::Clear();
    agent_.reset();
  }

  DeliverResult Deliver(int n, size_t payload_bytes = 32) {
    return agent_->Deliver("payments.received", "account:" + std::to_string(n % 5),
                           std::string(payload_bytes, 'p'));
  }
  v1::JournalHealth Health() {
    grpc::ClientContext ctx;
    v1::DescribeResponse d;
    grpc::Status st = stub_->Describe(&ctx, {}, &d);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return d.journal();
  }
  // Polls Describe until the journal's health is `healthy`.
  v1::JournalHealth WaitForHealth(bool healthy) {
    v1::JournalHealth h;
    for (int i = 0; i < 500; ++i) {
      h = Health();
      if (h.healthy() == healthy) break;
      std::this_thread::sleep_for(10ms);
    }
    return h;
  }
  uint64_t CountAll() {
    grpc::ClientContext ctx;
    v1::CountMessagesRequest req;
    v1::CountMessagesResponse resp;
    grpc::Status st = stub_->CountMessages(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.total();
  }
  std::string ConsoleStatus() {
    auto r = testing::RunCommand(
        {testing::BinaryPath("reprise"), "--agent", agent_->listen_address(), "-c", "status"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // The writer retries with a back-off of up to 2 s; Flush reports a failed
  // retry that happens while it waits, so wait until one flush succeeds.
  Status FlushAfterRecovery() {
    Status st;
    for (int i = 0; i < 100; ++i) {
      st = agent_->Flush();
      if (st.ok()) break;
      std::this_thread::sleep_for(50ms);
    }
    return st;
  }
  std::string IntegrityCheck() {
    sqlite3* db = nullptr;
    std::string out;
    if (sqlite3_open(dir_.File("f.journal").c_str(), &db) == SQLITE_OK) {
      sqlite3_exec(db, "PRAGMA integrity_check", [](void* o, int, char** v, char**) {
        *static_cast<std::string*>(o) += v[0] ? v[0] : "";
        return 0;
      }, &out, nullptr);
    }
    sqlite3_close(db);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(JournalFaultTest, DiskFullInAsyncModeIsReportedAndRecordingResumes) {
  Start({.durability = Durability::kAsync});
  std::vector<std::string> before;
  for (int i = 0; i < 20; ++i) before.push_back(Deliver(i).id);
  ASSERT_TRUE(agent_->Flush().ok());
  EXPECT_TRUE(Health().healthy());

  FaultVfs::Inject(FaultVfs::kDiskFull);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 20; i < 35; ++i) EXPECT_TRUE(Deliver(i).status.ok()) << "async callers do not notice";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the host must keep running";

  v1::JournalHealth h = WaitForHealth(false);
  ASSERT_FALSE(h.healthy());
  EXPECT_NE(h.last_error().find("full"), std::string::npos) << h.last_error();
  EXPECT_TRUE(h.has_failing_since());
  EXPECT_GT(h.write_failures(), 0u);
  EXPECT_GE(h.queued(), 15u) << "the records wait in the queue";
  EXPECT_EQ(h.committed(), 20u);
  std::string status = ConsoleStatus();
  EXPECT_NE(status.find("health FAILING since "), std::string::npos) << status;
  EXPECT_NE(status.find("disk is full"), std::string::npos) << status;
  EXPECT_NE(status.find("wait in the queue and are written when the fault clears"),
            std::string::npos) << status;

  // Reads still work, and everything committed before the fault is there.
  EXPECT_EQ(CountAll(), 20u);
  for (const std::string& id : before) {
    grpc::ClientContext ctx;
    v1::GetMessageRequest req;
    req.set_id(id);
    v1::GetMessageResponse resp;
    EXPECT_TRUE(stub_->GetMessage(&ctx, req, &resp).ok()) << id;
  }

  FaultVfs::Clear();
  ASSERT_TRUE(FlushAfterRecovery().ok());
  h = WaitForHealth(true);
  EXPECT_TRUE(h.healthy());
  EXPECT_EQ(h.last_error(), "");
  EXPECT_FALSE(h.has_failing_since());
  EXPECT_NE(h.last_fault().find("full"), std::string::npos) << "the fault stays visible";
  EXPECT_TRUE(h.has_recovered_at());
  EXPECT_EQ(h.queued(), 0u);
  EXPECT_EQ(h.committed(), 35u);
  EXPECT_EQ(h.dropped(), 0u);
  EXPECT_EQ(CountAll(), 35u) << "the queued messages were written after the fault";
  status = ConsoleStatus();
  EXPECT_NE(status.find("health ok"), std::string::npos) << status;
  EXPECT_NE(status.find("last fault "), std::string::npos) << status;
  EXPECT_NE(status.find("(recovered "), std::string::npos) << status;

  agent_.reset();
  EXPECT_EQ(IntegrityCheck(), "ok");
}

TEST_F(JournalFaultTest, IoErrorInProcessModeFailsCallsClearlyAndKeepsTheirRecords) {
  Start({.durability = Durability::kProcess});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Deliver(i).status.ok());

  FaultVfs::Inject(FaultVfs::kIoError);
  std::vector<std::string> refused;
  for (int i = 10; i < 13; ++i) {
    const auto start = std::chrono::steady_clock::now();
    DeliverResult r = Deliver(i);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the caller must not hang";
    EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
    EXPECT_NE(r.status.message().find("not committed yet"), std::string::npos)
        << r.status.ToString();
    EXPECT_NE(r.status.message().find("I/O error"), std::string::npos) << r.status.ToString();
    EXPECT_FALSE(r.handled) << "the handler must not run before the record is committed";
    refused.push_back(r.id);
  }
  v1::JournalHealth h = WaitForHealth(false);
  EXPECT_NE(h.last_error().find("I/O error"), std::string::npos) << h.last_error();
  EXPECT_EQ(CountAll(), 10u) << "what was committed before the fault is intact";

  FaultVfs::Clear();
  ASSERT_TRUE(FlushAfterRecovery().ok());
  EXPECT_TRUE(WaitForHealth(true).healthy());
  // The refused calls' records were kept and written once the disk recovered
  // (not handled: their handler never ran).
  EXPECT_EQ(CountAll(), 13u);
  for (const std::string& id : refused) {
    grpc::ClientContext ctx;
    v1::GetMessageRequest req;
    req.set_id(id);
    v1::GetMessageResponse resp;
    EXPECT_TRUE(stub_->GetMessage(&ctx, req, &resp).ok()) << id;
  }
  DeliverResult resumed = Deliver(13);
  EXPECT_TRUE(resumed.status.ok()) << "recording resumed";
  EXPECT_TRUE(resumed.handled);
  agent_.reset();
  EXPECT_EQ(IntegrityCheck(), "ok");
}

TEST_F(JournalFaultTest, UnderTheDropPolicyAFaultDropsWhatDoesNotFitAndCountsIt) {
  Start({.durability = Durability::kAsync, .overload = OverloadPolicy::kDrop,
         .max_queue_bytes = 32 * 1024});
  for (int i = 0; i < 5; ++i) Deliver(i);
  ASSERT_TRUE(agent_->Flush().ok());
  FaultVfs::Inject(FaultVfs::kDiskFull);
  constexpr int kDuring = 300;
  for (int i = 0; i < kDuring; ++i) Deliver(i, 512);
  v1::JournalHealth h = WaitForHealth(false);
  EXPECT_GT(h.dropped(), 0u) << "300 x 512 B cannot fit a 32 KiB queue";
  EXPECT_LE(h.queued_bytes(), 32u * 1024);
  FaultVfs::Clear();
  ASSERT_TRUE(FlushAfterRecovery().ok());
  h = WaitForHealth(true);
  EXPECT_EQ(CountAll() + h.dropped(), 5u + kDuring) << "every message is written or counted";
  EXPECT_EQ(h.committed() + h.dropped(), 5u + kDuring);
  EXPECT_NE(ConsoleStatus().find("dropped " + std::to_string(h.dropped())), std::string::npos);
}

// Health through a stock grpc.health.v1 client: the Reprise service is
// NOT_SERVING while the journal fails, and SERVING again once it recovers.
// The server as a whole ("") stays SERVING: reads still work.
// The log tells of the episode once as it starts and once as it ends.
TEST_F(JournalFaultTest, HealthIsNotServingWhileTheJournalFailsAndTheLogSaysSoOnce) {
  std::mutex mu;
  std::vector<std::string> lines;  // guarded by mu
  Start({.durability = Durability::kAsync,
         .log_sink = [&](const LogEvent& e) {
           std::lock_guard<std::mutex> lock(mu);
           lines.push_back(std::string(LogLevelName(e.level)) + " " + std::string(e.component) +
                           ": " + std::string(e.message));
         }});
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = health->Check(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.status();
  };
  auto journal_lines = [&] {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const std::string& l : lines) {
      if (l.find(" journal: ") != std::string::npos) out.push_back(l);
    }
    return out;
  };
  using Serving = grpc::health::v1::HealthCheckResponse;
  const std::string kService = "reprise.v1.Agent";
  for (int i = 0; i < 5; ++i) Deliver(i);
  ASSERT_TRUE(agent_->Flush().ok());
  EXPECT_EQ(check(kService), Serving::SERVING);

  FaultVfs::Inject(FaultVfs::kDiskFull);
  for (int i = 5; i < 10; ++i) Deliver(i);
  ASSERT_FALSE(WaitForHealth(false).healthy());
  // Describe says the journal fails: the health service agrees within a second.
  Serving::ServingStatus seen = Serving::SERVING;
  const auto failing = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - failing < 1s) {
    seen = check(kService);
    if (seen == Serving::NOT_SERVING) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(seen, Serving::NOT_SERVING);
  EXPECT_EQ(check(""), Serving::SERVING) << "the server itself is up";
  std::this_thread::sleep_for(1500ms);  // the writer retries meanwhile
  EXPECT_EQ(check(kService), Serving::NOT_SERVING);
  EXPECT_GT(Health().write_failures(), 1u) << "several retries...";
  ASSERT_EQ(journal_lines().size(), 1u) << "...logged once";
  EXPECT_EQ(journal_lines()[0].rfind("error journal: writes failing: ", 0), 0u)
      << journal_lines()[0];
  EXPECT_NE(journal_lines()[0].find("full"), std::string::npos) << journal_lines()[0];

  FaultVfs::Clear();
  ASSERT_TRUE(FlushAfterRecovery().ok());
  ASSERT_TRUE(WaitForHealth(true).healthy());
  seen = Serving::NOT_SERVING;
  const auto recovered = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - recovered < 1s) {
    seen = check(kService);
    if (seen == Serving::SERVING) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(seen, Serving::SERVING);
  const auto logged = journal_lines();
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[1].rfind("info journal: writes recovered after ", 0), 0u) << logged[1];
  EXPECT_NE(logged[1].find("failed writes (last: "), std::string::npos) << logged[1];
}

// A journal file full of garbage: the host does not start, and says why and
// what to do, in one line; nothing crashes.
TEST(CorruptJournalTest, TheHostRefusesToStartWithAClearError) {
  testing::TempDir dir;
  {
    std::ofstream f(dir.File("bad.journal"), std::ios::binary);
    for (int i = 0; i < 16384; ++i) f.put(static_cast<char>(i * 37 + 11));
  }
  auto r = testing::RunCommand({testing::BinaryPath("reprise-test-host"), "--journal",
                                "sqlite:" + dir.File("bad.journal"), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("opening journal sqlite:" + dir.File("bad.journal")), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("journal file is damaged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("start on a new journal"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace reprise
