// The broker goes away under steady traffic and comes back: the binding and
// the sender reconnect, and every message the broker accepted is in the
// journal exactly once.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "amqp_test_util.h"
#include "reprise/agent/agent.h"
#include "reprise/amqp/binding.h"
#include "reprise/amqp/sender.h"
#include "support/test_env.h"

namespace reprise::testing {
namespace {

using namespace std::chrono_literals;

TEST(AmqpOutageTest, BrokerRestartedUnderTrafficEveryAcceptedMessageIsRecordedOnce) {
  TempDir dir;
  const std::string journal = "sqlite:" + dir.File("consumer.journal");
  const std::string queue = UniqueQueue("outage");
  const amqp::ConnectionOptions connection{.url = Broker().url(),
                                           .connect_timeout = 2000ms,
                                           .reconnect_min = 50ms,
                                           .reconnect_max = 500ms};
  auto consumer = Agent::Start({.service = "consumer", .journal = journal, .listen = ""});
  ASSERT_TRUE(consumer.ok());
  std::atomic<int> handled{0};
  (*consumer)->Handle("payments.received", [&](const Message&, Context&) {
    handled.fetch_add(1);
    return Status::Ok();
  });
  auto binding = amqp::Binding::Start(
      **consumer, {.connection = connection, .queue = queue, .channel = "payments.received", .declare = true});
  ASSERT_TRUE(binding.ok());
  ASSERT_TRUE((*binding)->WaitConnected(30s));

  auto producer = Agent::Start({.service = "producer", .journal = "sqlite:" + dir.File("producer.journal"),
                                .listen = ""});
  ASSERT_TRUE(producer.ok());
  auto sender = amqp::Sender::Start(
      **producer, {.connection = connection, .channel = "payments", .routing_key = queue, .connections = 1,
                   .confirm_timeout = 2000ms});
  ASSERT_TRUE(sender.ok());

  std::mutex mu;
  std::set<std::string> accepted;
  std::atomic<bool> stop{false};
  std::atomic<int> refused{0};
  std::thread traffic([&] {
    for (int i = 0; !stop.load(); ++i) {
      Message m{.id = "msg-" + std::to_string(i), .channel = "payments", .payload = "{}"};
      if ((*sender)->Send(m).ok()) {
        std::lock_guard lock(mu);
        accepted.insert(m.id);
      } else {
        refused.fetch_add(1);
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  auto wait_for_handled = [&](int n) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (handled.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
    return handled.load() >= n;
  };
  ASSERT_TRUE(wait_for_handled(100));
  ASSERT_TRUE(Broker().StopApp().ok());
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE((*binding)->Stats().connected);
  ASSERT_TRUE(Broker().StartApp().ok());
  ASSERT_TRUE((*binding)->WaitConnected(30s)) << (*binding)->Stats().last_error;
  const int after_restart = handled.load();
  EXPECT_TRUE(wait_for_handled(after_restart + 100)) << "no traffic after the restart";
  stop.store(true);
  traffic.join();

  // Everything accepted reaches the journal and the queue drains.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (*Broker().QueueDepth(queue) != 0 || Counter((*binding)->Stats(), "unacked") != 0)) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE((*consumer)->Flush().ok());
  std::map<std::string, int> firsts;
  for (Message& m : ReadJournal(journal)) {
    if (m.origin_id.empty()) ++firsts[m.headers["amqp-message-id"]];
  }
  for (const std::string& id : accepted) EXPECT_EQ(firsts[id], 1) << id;
  for (const auto& [id, n] : firsts) EXPECT_EQ(n, 1) << id << " recorded as a new message " << n << " times";
  EXPECT_GE(Counter((*binding)->Stats(), "reconnects"), 1u);
  EXPECT_GE(Counter((*sender)->Stats(), "reconnects"), 1u);
  EXPECT_GT(refused.load(), 0) << "the outage refused no publish: was the broker stopped?";
  EXPECT_FALSE((*binding)->Stats().last_error.empty());
  std::printf("accepted %zu, refused %d, handled %d\n", accepted.size(), refused.load(), handled.load());
}

}  // namespace
}  // namespace reprise::testing
