// Retention under a running agent, over real gRPC and SQLite: old messages
// go by the policy, a removed message's NOT_FOUND says so, Describe and the
// console's `status` show it, and a job that needs old messages keeps them
// until it ends.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/base/clock.h"
#include "reprise/base/ulid.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kDayUs = 86400LL * 1000 * 1000;

class RetentionTest : public ::testing::Test {
 protected:
  // Writes `n` messages of channel "old" recorded `days` ago, straight into
  // the journal (before any agent runs); returns their ids.
  std::vector<std::string> SeedOld(int n, int days) {
    auto j = Journal::Open(url_);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    WriteBatch batch;
    const int64_t then = NowUs() - days * kDayUs;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      Message m;
      m.recorded_at_us = then + i;
      m.id = ids_.Next(m.recorded_at_us / 1000);
      m.channel = "old";
      m.key = "k" + std::to_string(i % 3);
      m.payload = "{}";
      m.outcome = Outcome::kOk;
      ids.push_back(m.id);
      batch.messages.push_back(std::move(m));
    }
    EXPECT_TRUE((*j)->Write(batch, false).ok());
    return ids;
  }
  void Start(AgentOptions options) {
    options.service = "kept";
    options.journal = url_;
    options.listen = "127.0.0.1:0";
    options.retention_every = 100ms;
    options.retention_step = 7;
    options.log_sink = [this](const LogEvent& e) {
      std::lock_guard<std::mutex> lock(mu_);
      log_.push_back(std::string(e.component) + ": " + std::string(e.message));
    };
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("old", [this](const Message&, Context&) {
      ++handled_;
      return Status::Ok();
    });
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }
  v1::RetentionStatus Retention() {
    grpc::ClientContext ctx;
    v1::DescribeResponse d;
    grpc::Status st = stub_->Describe(&ctx, {}, &d);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return d.retention();
  }
  // Polls Describe until retention removed `n` messages since start.
  v1::RetentionStatus WaitForRemoved(uint64_t n) {
    v1::RetentionStatus r;
    for (int i = 0; i < 500 && (r = Retention()).removed() < n; ++i) std::this_thread::sleep_for(20ms);
    return r;
  }
  grpc::Status Get(const std::string& id) {
    grpc::ClientContext ctx;
    v1::GetMessageRequest req;
    req.set_id(id);
    v1::GetMessageResponse resp;
    return stub_->GetMessage(&ctx, req, &resp);
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }

  testing::TempDir dir_;
  std::string url_ = "sqlite:" + dir_.File("r.journal");
  UlidGenerator ids_;
  std::mutex mu_;
  std::vector<std::string> log_;  // guarded by mu_
  std::atomic<int> handled_{0};
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(RetentionTest, OldMessagesGoByThePolicyAndTheirNotFoundSaysSo) {
  std::vector<std::string> old = SeedOld(30, 40);  // the default policy keeps 30 days
  std::vector<std::string> young = SeedOld(5, 10);
  Start({});
  v1::RetentionStatus r = WaitForRemoved(30);
  EXPECT_EQ(r.removed(), 30u);
  EXPECT_EQ(r.policy(), "keep 30d");
  EXPECT_TRUE(r.has_last_removal());
  EXPECT_TRUE(r.has_oldest_message());
  EXPECT_EQ(r.oldest_message().seconds(), UlidTimeMs(young[0]) / 1000) << "the 10-day-old stay";
  EXPECT_GT(r.journal_bytes(), 0u);
  EXPECT_EQ(r.waiting_for(), "");

  grpc::Status st = Get(old[3]);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("was removed by retention (keep 30d)"), std::string::npos)
      << st.error_message();
  EXPECT_TRUE(Get(young[0]).ok());
  // An id that never was, younger than the oldest kept: a plain miss.
  st = Get(ids_.Next(NowUs() / 1000));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(st.error_message().find("retention"), std::string::npos) << st.error_message();

  bool logged = false;
  for (const std::string& l : Log()) logged |= l.rfind("retention: removed ", 0) == 0;
  EXPECT_TRUE(logged);

  auto status = testing::RunCommand(
      {testing::BinaryPath("reprise"), "--agent", agent_->listen_address(), "-c", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("retention   keep 30d  oldest message "), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("removed 30 since start, last removal "), std::string::npos)
      << status.out;
}

TEST_F(RetentionTest, AJobStartedBeforeARemovalStillCompletes) {
  std::vector<std::string> old = SeedOld(40, 40);
  {
    // A reflow of the old messages, left unfinished by a previous process.
    auto j = Journal::Open(url_);
    ASSERT_TRUE(j.ok());
    auto job = (*j)->jobs().CreateJob({.filter = "channel = old", .service = "kept"}, "gone:1");
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    ASSERT_EQ(job->total, 40u);
  }
  Start({.resume_jobs_after = 1h});
  v1::RetentionStatus r;
  for (int i = 0; i < 500 && (r = Retention()).waiting_for().empty(); ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(r.waiting_for(), "job 1 is unfinished");
  EXPECT_EQ(r.removed(), 0u);
  EXPECT_TRUE(Get(old[0]).ok());

  ASSERT_TRUE(agent_->ResumeJobs().ok());
  v1::Job job;
  for (int i = 0; i < 1000; ++i) {
    grpc::ClientContext ctx;
    v1::GetJobRequest req;
    req.set_id("1");
    ASSERT_TRUE(stub_->GetJob(&ctx, req, &job).ok());
    if (job.state() == v1::COMPLETED) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(job.state(), v1::COMPLETED);
  EXPECT_EQ(job.done(), 40u);
  EXPECT_EQ(job.failed(), 0u);
  EXPECT_EQ(handled_.load(), 40) << "every message the job needed was there";
  // Once the job ended, the old originals go; its copies are young and stay.
  r = WaitForRemoved(40);
  EXPECT_EQ(r.removed(), 40u);
  EXPECT_EQ(r.waiting_for(), "");
  EXPECT_EQ(Get(old[0]).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(RetentionOptionsTest, BadValuesAreRefusedNamingThem) {
  testing::TempDir dir;
  auto a = Agent::Start({.service = "s", .journal = "sqlite:" + dir.File("j"), .listen = "",
                         .retention_every = 0ms});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("retention_every"), std::string::npos);
}

}  // namespace
}  // namespace reprise
