// The API's limits (docs/operations.md#limits) over real gRPC on loopback:
// each is configurable and refuses with a code and a message saying which
// limit and what to do.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "reprise/agent/agent.h"
#include "reprise/store/filter.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

class LimitsTest : public ::testing::Test {
 protected:
  void Start(AgentOptions options) {
    options.service = "ledger";
    options.journal = "sqlite:" + dir_.File("limits.journal");
    options.listen = "127.0.0.1:0";
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", [](const Message&, Context&) { return Status::Ok(); });
    for (int i = 0; i < 10; ++i) {
      (void)agent_->Deliver("payments.received", "account:" + std::to_string(i), "{}");
    }
    ASSERT_TRUE(agent_->Flush().ok());
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }
  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(LimitsTest, LongFiltersAreRefusedByEveryMethodThatTakesOne) {
  Start({.max_filter_length = 40});
  const std::string ok = "channel = payments.received";
  const std::string longer = ok + " and key = \"account:1234567890\"";
  ASSERT_GT(longer.size(), 40u);
  v1::ListMessagesRequest list;
  list.set_filter(ok);
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(stub_->ListMessages(Ctx().get(), list, &listed).ok());
  list.set_filter(longer);
  grpc::Status st = stub_->ListMessages(Ctx().get(), list, &listed);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("max_filter_length"), std::string::npos) << st.error_message();

  v1::CountMessagesRequest count;
  count.set_filter(longer);
  v1::CountMessagesResponse counted;
  EXPECT_EQ(stub_->CountMessages(Ctx().get(), count, &counted).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::StartReflowRequest reflow;
  reflow.set_filter(longer);
  v1::StartReflowResponse started;
  EXPECT_EQ(stub_->StartReflow(Ctx().get(), reflow, &started).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::RederiveRequest rederive;
  rederive.set_deriver("balance");
  rederive.set_filter(longer);
  v1::RederiveResponse rederived;
  EXPECT_EQ(stub_->Rederive(Ctx().get(), rederive, &rederived).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::MigrateRequest migrate;
  migrate.set_flow("f");
  migrate.set_variant("v");
  migrate.set_filter(longer);
  v1::MigrateResponse migrated;
  st = stub_->Migrate(Ctx().get(), migrate, &migrated);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("max_filter_length"), std::string::npos) << st.error_message();
}

TEST_F(LimitsTest, DeepFiltersAreRefused) {
  Start({});
  std::string deep;
  for (int i = 0; i <= filter::kMaxFilterDepth; ++i) deep += "(";
  deep += "key = a";
  for (int i = 0; i <= filter::kMaxFilterDepth; ++i) deep += ")";
  v1::CountMessagesRequest count;
  count.set_filter(deep);
  v1::CountMessagesResponse counted;
  grpc::Status st = stub_->CountMessages(Ctx().get(), count, &counted);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find(std::to_string(filter::kMaxFilterDepth)), std::string::npos)
      << st.error_message();
}

TEST_F(LimitsTest, PagesAreCutAtTheMaximumAndGoOn) {
  Start({.max_page_size = 3});
  v1::ListMessagesRequest req;
  req.set_page_size(1000);
  size_t seen = 0, pages = 0;
  do {
    v1::ListMessagesResponse resp;
    ASSERT_TRUE(stub_->ListMessages(Ctx().get(), req, &resp).ok());
    EXPECT_LE(resp.messages_size(), 3);
    seen += resp.messages_size();
    ++pages;
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(seen, 10u);
  EXPECT_EQ(pages, 4u);
}

TEST_F(LimitsTest, OversizedRequestsAreRefused) {
  Start({.max_request_bytes = 4096});
  v1::RederiveRequest req;
  req.set_deriver("balance");
  for (int i = 0; i < 500; ++i) req.add_keys("account:" + std::to_string(i));
  ASSERT_GT(req.ByteSizeLong(), 4096u);
  v1::RederiveResponse resp;
  EXPECT_EQ(stub_->Rederive(Ctx().get(), req, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Below the limit, the same call gets through to the deriver check.
  req.clear_keys();
  req.add_keys("account:1");
  EXPECT_EQ(stub_->Rederive(Ctx().get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(LimitsTest, ConcurrentJobsAreBounded) {
  Start({.max_running_jobs = 1});
  v1::StartReflowRequest req;
  req.set_filter("channel = payments.received");
  req.set_rate(1);  // ten messages at one a second: still running below
  v1::StartReflowResponse first, second;
  ASSERT_TRUE(stub_->StartReflow(Ctx().get(), req, &first).ok());
  grpc::Status st = stub_->StartReflow(Ctx().get(), req, &second);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("cancel"), std::string::npos) << st.error_message();
  v1::CancelJobRequest cancel;
  cancel.set_id(first.job().id());
  v1::Job job;
  ASSERT_TRUE(stub_->CancelJob(Ctx().get(), cancel, &job).ok());
}

TEST_F(LimitsTest, NonsensicalLimitsAreRefusedAtStart) {
  for (AgentOptions o : {AgentOptions{.max_page_size = 0}, AgentOptions{.max_page_size = 5000},
                         AgentOptions{.max_filter_length = 100000},
                         AgentOptions{.max_running_jobs = 0}}) {
    o.journal = "sqlite:" + dir_.File("bad.journal");
    o.listen = "127.0.0.1:0";
    auto a = Agent::Start(o);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << a.status().ToString();
  }
}

}  // namespace
}  // namespace reprise
