// Migrations over real gRPC: flip keys to a variant, then reflow their
// inbound messages through the handler; other keys are untouched.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Agent::Start({.service = "ledger",
                           .journal = "sqlite:" + dir_.File("migrate.journal"),
                           .listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    ASSERT_TRUE(agent_->Flow("ledger.rounding", {"v1", "v2"}, "v1").ok());
    agent_->Handle("payments.received", [this](const Message& in, Context& ctx) {
      std::string variant = ctx.Flow("ledger.rounding");
      std::lock_guard<std::mutex> lock(mu_);
      handled_[in.key].push_back(variant + (in.origin_id.empty() ? "" : " copy"));
      return Status::Ok();
    });
    for (int i = 0; i < 20; ++i) {
      agent_->Deliver("payments.received", "account:" + std::to_string(i % 4), "{}");
    }
    ASSERT_TRUE(agent_->Flush().ok());
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Migrate(const v1::MigrateRequest& req, v1::MigrateResponse* resp) {
    grpc::ClientContext ctx;
    return stub_->Migrate(&ctx, req, resp);
  }

  v1::Job WaitForJob(const std::string& id) {
    v1::Job job;
    for (int i = 0; i < 500; ++i) {
      grpc::ClientContext ctx;
      v1::GetJobRequest req;
      req.set_id(id);
      EXPECT_TRUE(stub_->GetJob(&ctx, req, &job).ok());
      if (job.state() != v1::RUNNING) break;
      std::this_thread::sleep_for(20ms);
    }
    return job;
  }

  std::map<std::string, std::vector<std::string>> Handled() {
    std::lock_guard<std::mutex> lock(mu_);
    return handled_;
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> handled_;  // key -> "variant[ copy]"
};

TEST_F(MigrateTest, DryRunReportsAndChangesNothing) {
  v1::MigrateRequest req;
  req.set_flow("ledger.rounding");
  req.set_variant("v2");
  req.add_keys("account:1");
  req.add_keys("account:2");
  req.mutable_reflow_since()->set_seconds(0);
  req.set_dry_run(true);
  v1::MigrateResponse resp;
  ASSERT_TRUE(Migrate(req, &resp).ok());
  EXPECT_EQ(resp.keys(), 2u);
  EXPECT_EQ(resp.messages(), 10u);
  EXPECT_EQ(resp.flow_version(), 0);
  EXPECT_FALSE(resp.has_job());
  grpc::ClientContext ctx;
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(&ctx, {}, &jobs).ok());
  EXPECT_EQ(jobs.jobs_size(), 0);
  agent_->Deliver("payments.received", "account:1", "{}");
  EXPECT_EQ(Handled()["account:1"].back(), "v1") << "the dry run moved nothing";
}

TEST_F(MigrateTest, MovesTheKeysReflowsTheirMessagesAndLeavesOthersAlone) {
  v1::MigrateRequest req;
  req.set_flow("ledger.rounding");
  req.set_variant("v2");
  req.add_keys("account:1");
  req.add_keys("account:2");
  req.mutable_reflow_since()->set_seconds(0);
  v1::MigrateResponse resp;
  grpc::Status st = Migrate(req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.keys(), 2u);
  ASSERT_TRUE(resp.has_job());
  EXPECT_EQ(resp.job().kind(), "migration");
  EXPECT_EQ(resp.job().total(), 10u);
  v1::Job job = WaitForJob(resp.job().id());
  EXPECT_EQ(job.state(), v1::COMPLETED);
  EXPECT_EQ(job.done(), 10u);

  auto handled = Handled();
  for (const std::string key : {"account:1", "account:2"}) {
    ASSERT_EQ(handled[key].size(), 10u) << key;  // 5 originals + 5 copies
    for (size_t i = 5; i < 10; ++i) EXPECT_EQ(handled[key][i], "v2 copy") << key;
  }
  for (const std::string key : {"account:0", "account:3"}) {
    ASSERT_EQ(handled[key].size(), 5u) << key << " must not be replayed";
    for (const auto& h : handled[key]) EXPECT_EQ(h, "v1");
  }
  // The copies record the variant that handled them.
  grpc::ClientContext ctx;
  v1::CountMessagesRequest count;
  count.set_filter("job = " + job.id() + " and variant = v2");
  v1::CountMessagesResponse counted;
  ASSERT_TRUE(stub_->CountMessages(&ctx, count, &counted).ok());
  EXPECT_EQ(counted.total(), 10u);

  // Migrating back is the rollback; earlier copies are not replayed again.
  v1::MigrateRequest back = req;
  back.set_variant("v1");
  v1::MigrateResponse back_resp;
  ASSERT_TRUE(Migrate(back, &back_resp).ok());
  EXPECT_EQ(back_resp.job().total(), 10u) << "originals only";
  WaitForJob(back_resp.job().id());
  EXPECT_EQ(Handled()["account:1"].back(), "v1 copy");

  grpc::ClientContext actx;
  v1::ListAuditRequest areq;
  areq.set_action("Migrate");
  v1::ListAuditResponse audit;
  ASSERT_TRUE(stub_->ListAudit(&actx, areq, &audit).ok());
  EXPECT_EQ(audit.records_size(), 2);
}

TEST_F(MigrateTest, ByFilterAndByPercentage) {
  v1::MigrateRequest by_filter;
  by_filter.set_flow("ledger.rounding");
  by_filter.set_variant("v2");
  by_filter.set_filter("key = \"account:3\"");
  v1::MigrateResponse resp;
  ASSERT_TRUE(Migrate(by_filter, &resp).ok());
  EXPECT_EQ(resp.keys(), 1u);
  EXPECT_FALSE(resp.has_job()) << "no reflow_since: keys move without a reflow";
  agent_->Deliver("payments.received", "account:3", "{}");
  EXPECT_EQ(Handled()["account:3"].back(), "v2");

  v1::MigrateRequest by_percent;
  by_percent.set_flow("ledger.rounding");
  by_percent.set_variant("v2");
  by_percent.set_percent(100);
  by_percent.set_dry_run(true);
  ASSERT_TRUE(Migrate(by_percent, &resp).ok());
  EXPECT_EQ(resp.keys(), 3u) << "every key not on v2 yet";
}

TEST_F(MigrateTest, BadRequestsAreClearErrors) {
  v1::MigrateRequest req;
  req.set_flow("ledger.rounding");
  req.set_variant("v9");
  req.add_keys("account:1");
  v1::MigrateResponse resp;
  grpc::Status st = Migrate(req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("its variants are v1, v2"), std::string::npos) << st.error_message();
  req.set_variant("v2");
  req.set_filter("outcome = failed");
  EXPECT_EQ(Migrate(req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);  // two modes
  req.set_flow("ledger.roundng");
  EXPECT_EQ(Migrate(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace reprise
