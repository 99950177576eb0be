#include "reprise/agent/agent.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <stdexcept>

#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(AgentOptions options) {
    agent_.reset();
    options.service = "test";
    options.listen = "";  // no API server: these tests call the library directly
    options.journal = journal_url_;
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
  }

  // Reads the journal the agent writes, through a second connection.
  std::unique_ptr<Journal> Reader() {
    EXPECT_TRUE(agent_->Flush().ok());
    auto j = Journal::Open(journal_url_);
    EXPECT_TRUE(j.ok());
    return std::move(*j);
  }

  Message Get(const std::string& id) {
    auto j = Reader();
    auto l = j->Get(id);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? l->message : Message{};
  }

  testing::TempDir dir_;
  std::string journal_url_ = "sqlite:" + dir_.File("agent.journal");
  std::unique_ptr<Agent> agent_;
};

TEST_F(AgentTest, DeliverRecordsInboundEmitsAndSends) {
  std::vector<std::string> sent;
  agent_->Handle("payments.received", [](const Message& in, Context& ctx) {
    EXPECT_EQ(&ctx.message(), &in);
    ctx.Emit("balance.updated", in.key, "{\"balance\":\"1.00\"}", {{"h", "v"}});
    return Status::Ok();
  });
  agent_->Send("balance.updated", [&](const Message& out) {
    sent.push_back(out.id);
    return Status::Ok();
  });
  DeliverResult r = agent_->Deliver("payments.received", "account:1", "{\"amount\":\"1\"}",
                                    {.headers = {{"tenant", "acme"}}});
  ASSERT_TRUE(r.status.ok());
  Message in = Get(r.id);
  EXPECT_EQ(in.direction, Direction::kIn);
  EXPECT_EQ(in.outcome, Outcome::kOk);
  EXPECT_EQ(in.headers.at("tenant"), "acme");
  EXPECT_EQ(in.content_type, "application/json");
  EXPECT_EQ(in.correlation_id, in.id);

  auto j = Reader();
  auto lineage = j->Get(r.id);
  ASSERT_TRUE(lineage.ok());
  ASSERT_EQ(lineage->effects.size(), 1u);
  const Message& out = lineage->effects[0];
  EXPECT_EQ(out.direction, Direction::kOut);
  EXPECT_EQ(out.channel, "balance.updated");
  EXPECT_EQ(out.causation_id, in.id);
  EXPECT_EQ(out.correlation_id, in.id);
  EXPECT_EQ(out.outcome, Outcome::kOk);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], out.id);
}

TEST_F(AgentTest, AHandlerThatThrowsLeavesAFailedRecordAndTheProcessGoesOn) {
  agent_->Handle("c", [](const Message&, Context&) -> Status {
    throw std::runtime_error("boom");
  });
  DeliverResult r = agent_->Deliver("c", "k", "payload");
  EXPECT_EQ(r.status.code(), StatusCode::kUnknown);
  Message m = Get(r.id);
  EXPECT_EQ(m.outcome, Outcome::kFailed);
  EXPECT_NE(m.error.find("boom"), std::string::npos) << m.error;
  // Still serving.
  agent_->Handle("c", [](const Message&, Context&) { return Status::Ok(); });
  EXPECT_TRUE(agent_->Deliver("c", "k", "again").status.ok());
}

TEST_F(AgentTest, AHandlerThatFailsRecordsItsErrorAndItsEmitsAreNotSent) {
  int sends = 0;
  agent_->Handle("c", [](const Message& in, Context& ctx) {
    ctx.Emit("out", in.key, "half-done");
    return InvalidArgument("invalid amount \"abc\"");
  });
  agent_->Send("out", [&](const Message&) {
    ++sends;
    return Status::Ok();
  });
  DeliverResult r = agent_->Deliver("c", "k", "x");
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  Message m = Get(r.id);
  EXPECT_EQ(m.outcome, Outcome::kFailed);
  EXPECT_EQ(m.error, "invalid amount \"abc\"");
  auto lineage = Reader()->Get(r.id);
  ASSERT_EQ(lineage->effects.size(), 1u);
  EXPECT_EQ(lineage->effects[0].outcome, Outcome::kSkipped);
  EXPECT_EQ(sends, 0);
}

TEST_F(AgentTest, SenderFailureAndSenderExceptionAreRecordedOnTheOutbound) {
  agent_->Handle("c", [](const Message& in, Context& ctx) {
    ctx.Emit("flaky", in.key, "a");
    ctx.Emit("throwing", in.key, "b");
    return Status::Ok();
  });
  agent_->Send("flaky", [](const Message&) { return Unavailable("HTTP 503"); });
  agent_->Send("throwing", [](const Message&) -> Status { throw std::logic_error("bad sender"); });
  DeliverResult r = agent_->Deliver("c", "k", "x");
  EXPECT_TRUE(r.status.ok());
  auto lineage = Reader()->Get(r.id);
  ASSERT_EQ(lineage->effects.size(), 2u);
  EXPECT_EQ(lineage->effects[0].outcome, Outcome::kFailed);
  EXPECT_EQ(lineage->effects[0].error, "HTTP 503");
  EXPECT_EQ(lineage->effects[1].outcome, Outcome::kFailed);
  EXPECT_NE(lineage->effects[1].error.find("bad sender"), std::string::npos);
}

TEST_F(AgentTest, NoHandlerMeansSkipped) {
  DeliverResult r = agent_->Deliver("nobody.listens", "k", "x");
  EXPECT_TRUE(r.status.ok());
  Message m = Get(r.id);
  EXPECT_EQ(m.outcome, Outcome::kSkipped);
  EXPECT_NE(m.error.find("no handler"), std::string::npos);
}

TEST_F(AgentTest, OversizePayloadIsRefusedAndCountedAndNothingElseIsLost) {
  Start({.max_payload_bytes = 1024});
  agent_->Handle("c", [](const Message&, Context&) { return Status::Ok(); });
  DeliverResult before = agent_->Deliver("c", "k", "small");
  DeliverResult big = agent_->Deliver("c", "k", std::string(2048, 'x'));
  EXPECT_EQ(big.status.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(big.status.message().find("exceeds"), std::string::npos);
  EXPECT_TRUE(big.id.empty());
  auto rec = agent_->RecordOutbound("c", "k", std::string(4096, 'y'));
  EXPECT_EQ(rec.status().code(), StatusCode::kResourceExhausted);
  DeliverResult after = agent_->Deliver("c", "k", "small again");
  EXPECT_EQ(agent_->Stats().refused_oversize, 2u);
  auto j = Reader();
  EXPECT_TRUE(j->Get(before.id).ok());
  EXPECT_TRUE(j->Get(after.id).ok());
  auto count = j->Count("", "");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->front().count, 2u);
}

TEST_F(AgentTest, ExplicitRecordStyle) {
  auto in = agent_->RecordInbound("orders", "order:1", "{}", {.correlation_id = "req-9"});
  ASSERT_TRUE(in.ok());
  auto out = agent_->RecordOutbound("invoices", "order:1", "{}", {.causation_id = *in});
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(agent_->RecordOutcome(*in, Outcome::kOk).ok());
  ASSERT_TRUE(agent_->RecordOutcome(*out, Outcome::kFailed, "smtp down").ok());
  Message i = Get(*in);
  EXPECT_EQ(i.correlation_id, "req-9");
  EXPECT_EQ(i.outcome, Outcome::kOk);
  Message o = Get(*out);
  EXPECT_EQ(o.direction, Direction::kOut);
  EXPECT_EQ(o.causation_id, *in);
  EXPECT_EQ(o.outcome, Outcome::kFailed);
  EXPECT_EQ(o.error, "smtp down");
  EXPECT_EQ(agent_->RecordOutcome("not-an-id", Outcome::kOk).code(), StatusCode::kInvalidArgument);
}

TEST_F(AgentTest, ProcessDurabilityLogsBeforeDeliverReturns) {
  Start({.durability = Durability::kProcess});
  DeliverResult r = agent_->Deliver("c", "k", "x");
  ASSERT_TRUE(r.status.ok());
  // In the intent log beside the journal; the mark passes once it is there.
  EXPECT_EQ(access((journal_url_.substr(7) + ".intent").c_str(), F_OK), 0);
  EXPECT_TRUE(agent_->WaitCommitted(agent_->RecordedMark(), std::chrono::seconds(10)));
}

TEST_F(AgentTest, ProcessDurabilityWithoutAnIntentLogCommitsBeforeDeliverReturns) {
  Start({.durability = Durability::kProcess, .intent_log = "none"});
  agent_->Handle("c", [](const Message& in, Context& ctx) {
    ctx.Emit("o", in.key, "x");
    return Status::Ok();
  });
  DeliverResult r = agent_->Deliver("c", "k", "x");
  ASSERT_TRUE(r.status.ok());
  // A separate connection, no Flush: committed already.
  auto j = Journal::Open(journal_url_);
  ASSERT_TRUE(j.ok());
  auto l = (*j)->Get(r.id);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->message.outcome, Outcome::kOk);
  ASSERT_EQ(l->effects.size(), 1u);
  EXPECT_EQ(l->effects[0].outcome, Outcome::kSkipped);  // no sender registered
}

TEST(AgentStartTest, RefusesANonLoopbackAddressWithoutTheInsecureOption) {
  testing::TempDir dir;
  auto a = Agent::Start({.service = "s", .journal = "sqlite:" + dir.File("j"), .listen = "0.0.0.0:0"});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(a.status().message().find("without TLS and tokens"), std::string::npos);
}

TEST(AgentStartTest, ABadJournalUrlIsAClearError) {
  auto a = Agent::Start({.service = "s", .journal = "nosuch:x", .listen = ""});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("sqlite:PATH"), std::string::npos);
}

TEST(AgentStartTest, PortZeroPicksAFreePort) {
  testing::TempDir dir;
  auto a = Agent::Start({.service = "s", .journal = "sqlite:" + dir.File("j"), .listen = "127.0.0.1:0"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::string addr = (*a)->listen_address();
  EXPECT_EQ(addr.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(addr, "127.0.0.1:0");
}

TEST(DurabilityTest, NamesRoundTrip) {
  for (auto d : {Durability::kAsync, Durability::kProcess, Durability::kPower}) {
    EXPECT_EQ(ParseDurability(DurabilityName(d)), d);
  }
  EXPECT_FALSE(ParseDurability("fast").has_value());
  EXPECT_EQ(ParseOverloadPolicy("drop"), OverloadPolicy::kDrop);
}

}  // namespace
}  // namespace reprise
