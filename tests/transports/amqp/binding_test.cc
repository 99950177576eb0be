// reprise::amqp::Binding against the binary's real broker: what a delivery
// becomes in the journal, when it is acked, redeliveries, failure policies.
#include "reprise/amqp/binding.h"

#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "amqp_test_util.h"
#include "reprise/agent/agent.h"
#include "support/test_env.h"

namespace reprise::testing {
namespace {

using namespace std::chrono_literals;

template <typename F>
bool Eventually(F f, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

class BindingTest : public ::testing::TestWithParam<Durability> {
 protected:
  void SetUp() override {
    journal_ = "sqlite:" + dir_.File("host.journal");
    StartAgent();
    queue_ = UniqueQueue("payments");
  }

  // `intent_log`: AgentOptions.intent_log ("": the default, "none": without).
  void StartAgent(const std::string& intent_log = "") {
    agent_.reset();
    auto a = Agent::Start({.service = "amqp-test",
                           .journal = journal_,
                           .listen = "",
                           .durability = GetParam(),
                           .intent_log = intent_log});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", [this](const Message& in, Context&) {
      handled_.fetch_add(1);
      return in.payload.find("fail") == std::string::npos ? Status::Ok() : Unavailable("ledger is down");
    });
  }

  std::unique_ptr<amqp::Binding> Bind(amqp::BindingOptions o = {}) {
    o.connection.url = Broker().url();
    o.queue = queue_;
    o.channel = "payments.received";
    o.declare = true;
    auto b = amqp::Binding::Start(*agent_, o);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok()) return nullptr;
    EXPECT_TRUE((*b)->WaitConnected(30s)) << (*b)->Stats().last_error;
    return std::move(*b);
  }

  TempDir dir_;
  std::string journal_;
  std::unique_ptr<Agent> agent_;
  std::string queue_;
  std::atomic<int> handled_{0};
  RawAmqp raw_;
};

TEST_P(BindingTest, RecordsPropertiesHeadersAndKeyThenAcks) {
  auto binding = Bind({.key_header = "account-id", .key_path = "account"});
  raw_.Publish(queue_, R"({"account":"a:1","amount":5})", "m-1", {{"trace", "t-9"}});
  raw_.Publish(queue_, R"({"amount":6})", "m-2", {{"account-id", "a:2"}});
  ASSERT_TRUE(Eventually([&] { return Counter(binding->Stats(), "acked") == 2; })) << binding->Stats().last_error;
  EXPECT_EQ(Counter(binding->Stats(), "unacked"), 0u);
  EXPECT_EQ(*Broker().QueueDepth(queue_), 0);

  auto ms = ReadJournal(journal_);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].key, "a:1");
  EXPECT_EQ(ms[0].headers["amqp-message-id"], "m-1");
  EXPECT_EQ(ms[0].headers[std::string(kTransportIdHeader)], "m-1");
  EXPECT_EQ(ms[0].headers["trace"], "t-9");
  EXPECT_EQ(ms[0].headers["amqp-routing-key"], queue_);
  EXPECT_EQ(ms[0].content_type, "application/json");
  EXPECT_EQ(ms[0].outcome, Outcome::kOk);
  EXPECT_EQ(ms[1].key, "a:2");  // the header wins over the payload path
  EXPECT_EQ(handled_.load(), 2);

  auto described = agent_->Stats().transports;
  ASSERT_EQ(described.size(), 1u);
  EXPECT_EQ(described[0].name, "amqp:" + queue_);
  EXPECT_TRUE(described[0].connected);
  EXPECT_EQ(described[0].endpoint.find("guest:guest"), std::string::npos);  // no password shown
}

// No ack goes out while the journal cannot commit: here a writer of the
// test holds the SQLite file's write lock. (In process durability with the
// intent log a record is as durable as the mode promises once it is in the
// log, and acks may go then: that path is the kill tests'.)
TEST_P(BindingTest, NoAckBeforeTheCommit) {
  if (GetParam() == Durability::kProcess) StartAgent("none");
  auto binding = Bind();
  raw_.Publish(queue_, "{}", "warm-up");
  ASSERT_TRUE(Eventually([&] { return Counter(binding->Stats(), "acked") == 1; }));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("host.journal").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  for (int i = 0; i < 5; ++i) raw_.Publish(queue_, "{}", "held-" + std::to_string(i));
  // async: handled at once, records queued; process: the first waits for its commit.
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(Counter(binding->Stats(), "acked"), 1u) << "acked before the records were committed";
  // async: handled, waiting for the commit; process: still in Deliver.
  if (GetParam() == Durability::kAsync) {
    EXPECT_GE(Counter(binding->Stats(), "unacked"), 1u);
  }

  ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(Eventually([&] { return Counter(binding->Stats(), "acked") == 6; }));
  EXPECT_EQ(ReadJournal(journal_).size(), 6u);
}

// A publisher that sends a message_id again (its confirm was lost): the
// second delivery is a further attempt of the first, and an ok one is not
// handled again.
TEST_P(BindingTest, AKnownMessageIdIsAFurtherAttempt) {
  auto binding = Bind();
  raw_.Publish(queue_, R"({"n":1})", "dup-1");
  raw_.Publish(queue_, R"({"n":2,"fail":1})", "dup-2");
  ASSERT_TRUE(Eventually([&] { return Counter(binding->Stats(), "acked") == 2; }));
  raw_.Publish(queue_, R"({"n":1})", "dup-1");
  raw_.Publish(queue_, R"({"n":2,"fail":1})", "dup-2");
  ASSERT_TRUE(Eventually([&] { return Counter(binding->Stats(), "acked") == 4; }));

  auto ms = ReadJournal(journal_);
  ASSERT_EQ(ms.size(), 4u);
  EXPECT_EQ(ms[2].attempt, 2u);
  EXPECT_EQ(ms[2].origin_id, ms[0].id);
  EXPECT_EQ(ms[2].correlation_id, ms[0].correlation_id);
  EXPECT_EQ(ms[2].outcome, Outcome::kSkipped);
  EXPECT_NE(ms[2].error.find("already handled ok as " + ms[0].id), std::string::npos) << ms[2].error;
  // The failed one runs again, as attempt 2.
  EXPECT_EQ(ms[3].attempt, 2u);
  EXPECT_EQ(ms[3].origin_id, ms[1].id);
  EXPECT_EQ(ms[3].outcome, Outcome::kFailed);
  EXPECT_EQ(handled_.load(), 3);
}

TEST_P(BindingTest, FailedHandlerIsAckedByDefaultOrRejectedToTheDeadLetterExchange) {
  const std::string dead = queue_ + ".dead";
  raw_.DeclareExchange(dead, "fanout");
  raw_.DeclareQueue(dead);
  raw_.Bind(dead, dead, "");
  {
    auto acking = Bind({.dead_letter_exchange = dead});
    raw_.Publish(queue_, R"({"fail":1})", "f-1");
    ASSERT_TRUE(Eventually([&] { return Counter(acking->Stats(), "acked") == 1; }));
  }
  auto rejecting = Bind({.dead_letter_exchange = dead, .on_failed = amqp::FailedPolicy::kReject});
  raw_.Publish(queue_, R"({"fail":1})", "f-2");
  raw_.Publish(queue_, R"({"ok":1})", "f-3");
  ASSERT_TRUE(Eventually([&] { return Counter(rejecting->Stats(), "rejected") == 1; }));
  ASSERT_TRUE(Eventually([&] { return Counter(rejecting->Stats(), "acked") == 1; }));
  ASSERT_TRUE(Eventually([&] { return *Broker().QueueDepth(dead) == 1; }));
  auto got = raw_.Get(dead);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->body, R"({"fail":1})");
  EXPECT_EQ(*Broker().QueueDepth(queue_), 0);
  auto ms = ReadJournal(journal_);
  ASSERT_EQ(ms.size(), 3u);
  EXPECT_EQ(ms[1].outcome, Outcome::kFailed);  // recorded either way: a reflow candidate
  EXPECT_EQ(ms[1].error, "ledger is down");
}

INSTANTIATE_TEST_SUITE_P(Durability, BindingTest, ::testing::Values(Durability::kAsync, Durability::kProcess),
                         [](const auto& info) { return std::string(DurabilityName(info.param)); });

TEST(BindingOptionsTest, BadOptionsAreRefusedWithWhatToDo) {
  TempDir dir;
  auto agent = Agent::Start({.service = "amqp-test", .journal = "sqlite:" + dir.File("j"), .listen = ""});
  ASSERT_TRUE(agent.ok());
  auto no_queue = amqp::Binding::Start(**agent, {.channel = "c"});
  ASSERT_FALSE(no_queue.ok());
  EXPECT_NE(no_queue.status().message().find("name the queue"), std::string::npos);
  auto bad_url = amqp::Binding::Start(**agent, {.connection = {.url = "http://x"}, .queue = "q", .channel = "c"});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_NE(bad_url.status().message().find("amqp://"), std::string::npos);
  // amqps without a CA to check the broker against: said, not hidden in a retry loop.
  auto tls = amqp::Binding::Start(**agent, {.connection = {.url = "amqps://127.0.0.1:1/"}, .queue = "q",
                                            .channel = "c"});
  ASSERT_TRUE(tls.ok());
  EXPECT_FALSE((*tls)->WaitConnected(300ms));
  EXPECT_NE((*tls)->Stats().last_error.find("tls_ca_cert"), std::string::npos) << (*tls)->Stats().last_error;
}

}  // namespace
}  // namespace reprise::testing
