// A host consuming a queue is killed -9 (tests/transports/amqp/amqp_test_host.cc):
// what the broker redelivers becomes further attempts of the same messages,
// and nothing already handled ok runs again.
#include <signal.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "amqp_test_util.h"
#include "support/test_env.h"

namespace reprise::testing {
namespace {

using namespace std::chrono_literals;

class AmqpKillTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Starts the host and waits for its "ready". The lines it printed before
  // are kept for LinesUntil: the consumer thread may handle a delivery
  // already queued before the main thread prints "ready".
  std::optional<Subprocess> StartHost() {
    early_lines_.clear();
    auto host = Subprocess::Start({REPRISE_AMQP_TEST_HOST, Broker().url(), queue_, journal_, GetParam()});
    EXPECT_TRUE(host.has_value());
    if (!host) return host;
    while (auto line = host->ReadLine(60s)) {
      if (*line == "ready") return host;
      early_lines_.push_back(*line);
    }
    ADD_FAILURE() << "the host never said ready: " << host->ReadAllStderr(1s);
    return host;
  }

  // The host's lines since its start, "ready" left out, up to one
  // containing `needle` (included); empty when it never came.
  std::vector<std::string> LinesUntil(Subprocess& host, const std::string& needle) {
    std::vector<std::string> lines;
    for (const std::string& line : early_lines_) {
      lines.push_back(line);
      if (line.find(needle) != std::string::npos) return lines;
    }
    while (auto line = host.ReadLine(30s)) {
      lines.push_back(*line);
      if (line->find(needle) != std::string::npos) return lines;
    }
    return {};
  }

  std::map<std::string, std::vector<Message>> AttemptsById() {
    std::map<std::string, std::vector<Message>> by_id;
    for (Message& m : ReadJournal(journal_)) by_id[m.headers["amqp-message-id"]].push_back(std::move(m));
    return by_id;
  }

  TempDir dir_;
  std::vector<std::string> early_lines_;  // printed before "ready" by the last StartHost
  std::string journal_ = "sqlite:" + dir_.File("host.journal");
  std::string queue_ = UniqueQueue("kill");
};

// A is handled ok and committed, B's handler never returns: A's ack waits
// behind B (acks go in delivery order). kill -9, restart: the broker
// redelivers both.
TEST_P(AmqpKillTest, KilledBetweenCommitAndAckTheRedeliveryIsASecondAttempt) {
  RawAmqp raw;
  raw.DeclareQueue(queue_);
  raw.Publish(queue_, R"({"account":"a"})", "A");
  raw.Publish(queue_, R"({"account":"b","block":1})", "B");
  {
    auto host = StartHost();
    ASSERT_TRUE(host.has_value());
    ASSERT_FALSE(LinesUntil(*host, "blocking B").empty());
    // Once A's outcome is in the journal, its ack is all that is missing.
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto by_id = AttemptsById();
      if (by_id["A"].size() == 1 && by_id["A"][0].outcome == Outcome::kOk && by_id["B"].size() == 1) break;
      std::this_thread::sleep_for(20ms);
    }
    host->Kill(SIGKILL);
  }
  ASSERT_EQ(*Broker().QueueDepth(queue_), 2) << "both A and B were still unacked at the kill";

  // The restarted host handles B (no longer blocking: its payload is the
  // same, so unblock it by a host that sees B's second attempt only).
  auto by_id = AttemptsById();
  ASSERT_EQ(by_id["A"].size(), 1u);
  ASSERT_EQ(by_id["A"][0].outcome, Outcome::kOk);
  auto host = StartHost();
  ASSERT_TRUE(host.has_value());
  // B blocks again (its handler is the same); A comes before it.
  std::vector<std::string> lines = LinesUntil(*host, "blocking B");
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) EXPECT_NE(line, "handled A") << "A was handled again";
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline && AttemptsById()["A"].size() < 2) {
    std::this_thread::sleep_for(20ms);
  }
  host->Kill(SIGKILL);

  by_id = AttemptsById();
  ASSERT_EQ(by_id["A"].size(), 2u);
  Message first = by_id["A"][0];
  Message second = by_id["A"][1];
  EXPECT_EQ(second.attempt, 2u);
  EXPECT_EQ(second.origin_id, first.id);
  EXPECT_EQ(second.outcome, Outcome::kSkipped);
  EXPECT_EQ(second.headers["reprise-redelivery"], "transport");
  ASSERT_EQ(by_id["B"].size(), 2u);
  EXPECT_EQ(by_id["B"][1].attempt, 2u);
  EXPECT_EQ(by_id["B"][1].origin_id, by_id["B"][0].id);
}

// An outside client (python3-pika) publishes 10,000 messages with confirms;
// the host, started behind a backlog, is killed -9 once in the middle (with
// deliveries in flight) and started again. async: the mode whose acks wait
// longest for the commit.
TEST(AmqpPikaTest, PikaPublishesTenThousandHostKilledOnceInTheMiddle) {
  constexpr int kMessages = 10000;
  TempDir dir;
  const std::string journal = "sqlite:" + dir.File("host.journal");
  const std::string queue = UniqueQueue("pika");
  RawAmqp raw;
  raw.DeclareQueue(queue);
  const std::string script = dir.File("publish.py");
  std::ofstream(script) << R"(
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.confirm_delivery()
n = int(sys.argv[3])
for i in range(n):
    ch.basic_publish(exchange='', routing_key=sys.argv[2],
                     body=('{"account":"acct:%d","n":%d}' % (i % 97, i)).encode(),
                     properties=pika.BasicProperties(message_id='pika-%d' % i, content_type='application/json',
                                                     headers={'source': 'pika'}),
                     mandatory=True)
    if (i + 1) % 2000 == 0:
        print('published %d' % (i + 1), flush=True)
conn.close()
print('published all', flush=True)
)";
  auto publisher = Subprocess::Start({REPRISE_SYSTEM_PYTHON, script, Broker().url(), queue,
                                      std::to_string(kMessages)});
  ASSERT_TRUE(publisher.has_value());
  ASSERT_TRUE(publisher->WaitForLine("published 4000", 120s).has_value()) << publisher->ReadAllStderr(1s);

  auto start_host = [&] {
    auto host = Subprocess::Start({REPRISE_AMQP_TEST_HOST, Broker().url(), queue, journal, "async", "quiet"});
    EXPECT_TRUE(host.has_value());
    if (host) {
      EXPECT_TRUE(host->WaitForLine("ready", 60s).has_value()) << host->ReadAllStderr(1s);
    }
    return host;
  };
  auto reader = std::move(Journal::Open(journal).value());
  auto recorded = [&]() -> uint64_t {
    auto n = reader->Count("", "");
    return n.ok() && !n->empty() ? (*n)[0].count : 0;
  };
  {
    auto host = start_host();
    ASSERT_TRUE(host.has_value());
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline && recorded() < 2000) std::this_thread::sleep_for(5ms);
    host->Kill(SIGKILL);
  }
  auto host = start_host();
  ASSERT_TRUE(host.has_value());
  ASSERT_TRUE(publisher->WaitForLine("published all", 180s).has_value()) << publisher->ReadAllStderr(1s);
  // Every message recorded once (first attempts), then the host stops.
  auto firsts = [&]() -> uint64_t {
    auto n = reader->Count("attempt = 1", "");
    return n.ok() && !n->empty() ? (*n)[0].count : 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline && firsts() < kMessages) std::this_thread::sleep_for(100ms);
  host->CloseStdin();
  EXPECT_EQ(host->Wait(30s), 0);
  EXPECT_EQ(*Broker().QueueDepth(queue), 0);

  int extra = 0, redelivered = 0;
  std::map<std::string, std::vector<Message>> by_id;
  for (Message& m : ReadJournal(journal)) by_id[m.headers["amqp-message-id"]].push_back(std::move(m));
  ASSERT_EQ(by_id.size(), static_cast<size_t>(kMessages));
  for (auto& [id, attempts] : by_id) {
    ASSERT_FALSE(attempts.empty());
    EXPECT_TRUE(attempts[0].origin_id.empty()) << id;
    EXPECT_EQ(attempts[0].attempt, 1u) << id;
    EXPECT_EQ(attempts[0].headers["source"], "pika");
    for (Message& a : attempts) redelivered += a.headers.count("reprise-redelivery") > 0;
    for (size_t i = 1; i < attempts.size(); ++i) {
      ++extra;
      EXPECT_EQ(attempts[i].origin_id, attempts[0].id) << id;
      EXPECT_EQ(attempts[i].headers["reprise-redelivery"], "transport") << id << ": an extra attempt not redelivered";
    }
  }
  EXPECT_GT(redelivered, 0) << "nothing was in flight at the kill: the test proved nothing";
  EXPECT_LE(extra, 500) << "more extra attempts than the prefetch window";
  std::printf("redelivered deliveries recorded: %d, of which extra attempts: %d\n", redelivered, extra);
}

INSTANTIATE_TEST_SUITE_P(Durability, AmqpKillTest, ::testing::Values("async", "process"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace reprise::testing
