// reprise::amqp::Sender against the binary's real broker: confirms, returns,
// and a reflow job publishing from several threads.
#include "reprise/amqp/sender.h"

#include <grpcpp/grpcpp.h>

#include <set>
#include <thread>

#include "amqp_test_util.h"
#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise::testing {
namespace {

using namespace std::chrono_literals;

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Agent::Start({.service = "amqp-test", .journal = journal_, .listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
  }

  TempDir dir_;
  std::string journal_ = "sqlite:" + dir_.File("sender.journal");
  std::unique_ptr<Agent> agent_;
  RawAmqp raw_;
};

TEST_F(SenderTest, UnroutablePublishIsFailedNotOk) {
  auto sender = amqp::Sender::Start(*agent_, {.connection = {.url = Broker().url()},
                                              .channel = "balance.updated",
                                              .exchange = "amq.direct",
                                              .routing_key = "nowhere"});
  ASSERT_TRUE(sender.ok()) << sender.status().ToString();
  Message out{.id = "01JD0000000000000000000000", .channel = "balance.updated", .payload = "{}"};
  Status st = (*sender)->Send(out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("unroutable"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("NO_ROUTE"), std::string::npos) << st.ToString();
  EXPECT_EQ(Counter((*sender)->Stats(), "returned"), 1u);

  // Through the agent: what a handler emits to that channel is recorded failed.
  agent_->Handle("payments.received", [](const Message& in, Context& ctx) {
    ctx.Emit("balance.updated", in.key, R"({"balance":5})");
    return Status::Ok();
  });
  agent_->Deliver("payments.received", "a:1", "{}");
  ASSERT_TRUE(agent_->Flush().ok());
  auto outs = ReadJournal(journal_, "direction = out");
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].outcome, Outcome::kFailed);
  EXPECT_NE(outs[0].error.find("unroutable"), std::string::npos) << outs[0].error;
}

TEST_F(SenderTest, AReflowFromSeveralThreadsHasEveryCopyConfirmed) {
  const std::string queue = UniqueQueue("balances");
  raw_.DeclareQueue(queue);
  auto sender = amqp::Sender::Start(*agent_, {.connection = {.url = Broker().url()},
                                              .channel = "balance.updated",
                                              .routing_key = queue,
                                              .connections = 3});
  ASSERT_TRUE(sender.ok()) << sender.status().ToString();
  constexpr int kMessages = 300;
  std::set<std::string> originals;
  for (int i = 0; i < kMessages; ++i) {
    auto id = agent_->RecordOutbound("balance.updated", "acct:" + std::to_string(i % 30),
                                     R"({"n":)" + std::to_string(i) + "}");
    ASSERT_TRUE(id.ok());
    originals.insert(*id);
  }
  ASSERT_TRUE(agent_->Flush().ok());

  auto stub = v1::Agent::NewStub(grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext start_ctx;
  v1::StartReflowRequest req;
  req.set_filter(R"(channel = "balance.updated")");
  req.set_target(v1::DOWNSTREAM);
  req.set_concurrency(8);
  v1::StartReflowResponse started;
  ASSERT_TRUE(stub->StartReflow(&start_ctx, req, &started).ok());
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + 120s);
  v1::WatchJobRequest watch;
  watch.set_id(started.job().id());
  auto reader = stub->WatchJob(&watch_ctx, watch);
  v1::JobProgress p, last;
  while (reader->Read(&p)) last = p;
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(last.job().state(), v1::COMPLETED) << last.job().reason();
  EXPECT_EQ(last.job().done(), static_cast<uint64_t>(kMessages));
  EXPECT_EQ(last.job().failed(), 0u);
  EXPECT_EQ(Counter((*sender)->Stats(), "confirmed"), static_cast<uint64_t>(kMessages));

  // Every copy is on the queue once, saying what it replays and which job.
  std::set<std::string> replayed;
  while (auto got = raw_.Get(queue)) {
    std::string origin, job;
    for (const auto& [k, v] : got->headers) {
      if (k == "reprise-origin") origin = v;
      if (k == "reprise-job") job = v;
    }
    EXPECT_EQ(job, started.job().id());
    EXPECT_TRUE(originals.count(origin)) << origin;
    EXPECT_TRUE(replayed.insert(origin).second) << "published twice: " << origin;
  }
  EXPECT_EQ(replayed.size(), static_cast<size_t>(kMessages));

  // Operators see the sender in Describe.
  grpc::ClientContext describe_ctx;
  v1::DescribeResponse described;
  ASSERT_TRUE(stub->Describe(&describe_ctx, v1::DescribeRequest(), &described).ok());
  ASSERT_EQ(described.transports_size(), 1);
  EXPECT_EQ(described.transports(0).name(), "amqp-out:balance.updated");
  EXPECT_EQ(described.transports(0).kind(), "amqp");
  EXPECT_TRUE(described.transports(0).connected());
}

}  // namespace
}  // namespace reprise::testing
