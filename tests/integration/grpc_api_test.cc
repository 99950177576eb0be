// The API over real gRPC on loopback, against an agent with a real SQLite
// journal.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

class GrpcApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Agent::Start({.service = "ledger",
                           .journal = "sqlite:" + dir_.File("api.journal"),
                           .listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", [](const Message& in, Context& ctx) {
      if (in.payload == "bad") return InvalidArgument("invalid amount");
      ctx.Emit("balance.updated", in.key, "{\"balance\":\"2.00\"}");
      return Status::Ok();
    });
    agent_->Send("balance.updated", [](const Message&) { return Unavailable("notifier: HTTP 503"); });
    for (int i = 0; i < 30; ++i) {
      ids_.push_back(agent_->Deliver("payments.received", "account:" + std::to_string(i % 3),
                                     i % 10 == 0 ? "bad" : "{\"amount\":\"1.5\"}")
                         .id);
    }
    ASSERT_TRUE(agent_->Flush().ok());
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::vector<std::string> ids_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(GrpcApiTest, DescribeReportsServiceChannelsAndJournal) {
  grpc::ClientContext ctx;
  v1::DescribeResponse resp;
  ASSERT_TRUE(stub_->Describe(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.service(), "ledger");
  EXPECT_EQ(resp.api_version(), "reprise.v1");
  EXPECT_EQ(resp.listen_address(), agent_->listen_address());
  EXPECT_NE(resp.journal().backend().find("sqlite:"), std::string::npos);
  EXPECT_EQ(resp.journal().durability(), "async");
  EXPECT_EQ(resp.journal().committed(), 57u);  // 30 in, 27 out (3 handlers failed)
  EXPECT_TRUE(resp.journal().healthy());
  EXPECT_EQ(resp.journal().last_error(), "");
  EXPECT_FALSE(resp.journal().has_failing_since());
  EXPECT_EQ(resp.journal().write_failures(), 0u);
  EXPECT_EQ(resp.journal().max_queue_bytes(), AgentOptions{}.max_queue_bytes);
  ASSERT_EQ(resp.channels_size(), 2);
  EXPECT_EQ(resp.channels(0).channel(), "balance.updated");
  EXPECT_EQ(resp.channels(0).failed(), 27u);
  EXPECT_TRUE(resp.channels(0).has_sender());
  EXPECT_EQ(resp.channels(1).failed(), 3u);
  EXPECT_TRUE(resp.channels(1).has_handler());
  EXPECT_GT(resp.filter_fields_size(), 10);
}

TEST_F(GrpcApiTest, ListMessagesFiltersAndPages) {
  std::vector<std::string> seen;
  v1::ListMessagesRequest req;
  req.set_filter("channel = \"payments.received\" and outcome = failed");
  req.set_page_size(2);
  for (int i = 0; i < 10; ++i) {
    grpc::ClientContext ctx;
    v1::ListMessagesResponse resp;
    grpc::Status st = stub_->ListMessages(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    for (const auto& m : resp.messages()) {
      EXPECT_EQ(m.outcome(), v1::FAILED);
      EXPECT_EQ(m.error(), "invalid amount");
      EXPECT_TRUE(m.payload().empty());
      EXPECT_EQ(m.payload_size(), 3u);
      seen.push_back(m.id());
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{ids_[20], ids_[10], ids_[0]}));
}

TEST_F(GrpcApiTest, GetMessageReturnsPayloadAndLineage) {
  grpc::ClientContext ctx;
  v1::GetMessageRequest req;
  req.set_id(ids_[1]);
  v1::GetMessageResponse resp;
  ASSERT_TRUE(stub_->GetMessage(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.message().payload(), "{\"amount\":\"1.5\"}");
  EXPECT_EQ(resp.message().outcome(), v1::OK);
  ASSERT_EQ(resp.effects_size(), 1);
  EXPECT_EQ(resp.effects(0).outcome(), v1::FAILED);
  EXPECT_EQ(resp.effects(0).error(), "notifier: HTTP 503");

  grpc::ClientContext ctx2;
  req.set_id(resp.effects(0).id());
  v1::GetMessageResponse effect;
  ASSERT_TRUE(stub_->GetMessage(&ctx2, req, &effect).ok());
  ASSERT_EQ(effect.causes_size(), 1);
  EXPECT_EQ(effect.causes(0).id(), ids_[1]);
}

TEST_F(GrpcApiTest, CountMessagesByField) {
  grpc::ClientContext ctx;
  v1::CountMessagesRequest req;
  req.set_filter("outcome = failed");
  req.set_group_by("channel");
  v1::CountMessagesResponse resp;
  ASSERT_TRUE(stub_->CountMessages(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.total(), 30u);
  ASSERT_EQ(resp.groups_size(), 2);
  EXPECT_EQ(resp.groups(0).value(), "balance.updated");
  EXPECT_EQ(resp.groups(0).count(), 27u);
}

TEST_F(GrpcApiTest, MalformedFilterIsInvalidArgumentWithColumnAndSuggestion) {
  grpc::ClientContext ctx;
  v1::ListMessagesRequest req;
  req.set_filter("chanel = x");
  v1::ListMessagesResponse resp;
  grpc::Status st = stub_->ListMessages(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(),
            "filter: unknown field \"chanel\" at column 1; did you mean \"channel\"?");
}

TEST_F(GrpcApiTest, UnknownIdIsNotFoundNamingTheId) {
  grpc::ClientContext ctx;
  v1::GetMessageRequest req;
  req.set_id("01JD0000000000000000000000");
  v1::GetMessageResponse resp;
  grpc::Status st = stub_->GetMessage(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("01JD0000000000000000000000"), std::string::npos);
}

}  // namespace
}  // namespace reprise

namespace reprise {
namespace {

TEST_F(GrpcApiTest, KnobsAreListedInvokedValidatedContainedAndAudited) {
  agent_->Knob("cache.flush", "Drop cached balances", {{"region", ArgType::kString, "which region"}},
               [](const Args& a) -> StatusOr<std::string> { return "flushed " + a.String("region"); });
  agent_->Knob("explode", "Throws", {}, [](const Args&) -> StatusOr<std::string> {
    throw std::runtime_error("kaboom");
  });
  agent_->Knob("hang", "Overruns", {}, [](const Args&) -> StatusOr<std::string> {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    return "late";
  }, {.deadline = std::chrono::milliseconds(100)});

  grpc::ClientContext lctx;
  v1::ListKnobsResponse knobs;
  ASSERT_TRUE(stub_->ListKnobs(&lctx, {}, &knobs).ok());
  ASSERT_EQ(knobs.knobs_size(), 3);
  EXPECT_EQ(knobs.knobs(0).name(), "cache.flush");
  ASSERT_EQ(knobs.knobs(0).args_size(), 1);
  EXPECT_EQ(knobs.knobs(0).args(0).type(), "string");

  auto invoke = [&](const std::string& name, std::map<std::string, std::string> args,
                    v1::InvokeKnobResponse* resp) {
    grpc::ClientContext ctx;
    v1::InvokeKnobRequest req;
    req.set_name(name);
    for (auto& [k, v] : args) (*req.mutable_args())[k] = v;
    return stub_->InvokeKnob(&ctx, req, resp);
  };
  v1::InvokeKnobResponse resp;
  ASSERT_TRUE(invoke("cache.flush", {{"region", "eu"}}, &resp).ok());
  EXPECT_EQ(resp.result(), "flushed eu");

  grpc::Status missing = invoke("cache.flush", {}, &resp);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(missing.error_message().find("expected: region=string"), std::string::npos)
      << missing.error_message();
  EXPECT_EQ(invoke("explode", {}, &resp).error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(invoke("hang", {}, &resp).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(invoke("nope", {}, &resp).error_code(), grpc::StatusCode::NOT_FOUND);

  // Still serving.
  grpc::ClientContext dctx;
  v1::DescribeResponse describe;
  ASSERT_TRUE(stub_->Describe(&dctx, {}, &describe).ok());
  EXPECT_EQ(describe.knobs_size(), 3);

  grpc::ClientContext actx;
  v1::ListAuditRequest areq;
  areq.set_action("InvokeKnob");
  v1::ListAuditResponse audit;
  ASSERT_TRUE(stub_->ListAudit(&actx, areq, &audit).ok());
  ASSERT_EQ(audit.records_size(), 5);
  EXPECT_NE(audit.records(4).request().find("\"region\":\"eu\""), std::string::npos);
  EXPECT_EQ(audit.records(4).result(), "OK");
  EXPECT_NE(audit.records(1).result().find("DEADLINE_EXCEEDED"), std::string::npos);
}

}  // namespace
}  // namespace reprise
