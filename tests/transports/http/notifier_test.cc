// reprise-demo-notifier, the demo's webhook downstream, as a real process
// driven by the webhook sender: it fails the share of calls it was told to
// with 503 and counts what it got, reflowed copies apart.
#include <gtest/gtest.h>
#include <httplib.h>

#include <csignal>
#include <optional>

#include "reprise/http/webhook.h"
#include "support/test_env.h"

namespace reprise::http {
namespace {

using namespace std::chrono_literals;

// The notifier's address ("127.0.0.1:PORT") once it listens; "" if it did not start.
std::string AddressOf(std::optional<testing::Subprocess>& p) {
  if (!p) return "";
  auto line = p->WaitForLine("listening on ", 10s);
  if (!line) return "";
  const size_t at = line->find("127.0.0.1:");
  return line->substr(at, line->find(' ', at) - at);
}

TEST(NotifierTest, FailsTheGivenShareWith503AndCountsCopiesApart) {
  auto notifier = testing::Subprocess::Start(
      {testing::BinaryPath("reprise-demo-notifier"), "--failure-rate", "0.5", "--seed", "7"});
  const std::string address = AddressOf(notifier);
  ASSERT_FALSE(address.empty());
  auto send = WebhookSender({.url = "http://" + address + "/balance"});
  ASSERT_TRUE(send.ok());
  Message m{.id = "01JD0000000000000000000010", .direction = Direction::kOut, .channel = "balance.updated"};
  int ok = 0, failed = 0;
  for (int i = 0; i < 100; ++i) {
    if (i >= 60) m.origin_id = "01JD0000000000000000000009";  // a reflowed copy
    Status st = (*send)(m);
    if (st.ok()) {
      ++ok;
    } else {
      ++failed;
      EXPECT_NE(st.message().find("HTTP 503 Service Unavailable: downstream overloaded"), std::string::npos)
          << st.message();
    }
  }
  EXPECT_GT(ok, 20);
  EXPECT_GT(failed, 20);
  httplib::Client client("http://" + address);
  auto stats = client.Get("/stats");
  ASSERT_TRUE(stats);
  EXPECT_NE(stats->body.find("\"received\":100,\"ok\":" + std::to_string(ok) + ",\"failed\":" +
                             std::to_string(failed) + ",\"reflowed\":40,"),
            std::string::npos) << stats->body;
  notifier->Kill(SIGTERM);
}

TEST(NotifierTest, RefusesABadRate) {
  auto r = testing::RunCommand({testing::BinaryPath("reprise-demo-notifier"), "--failure-rate", "1.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("see --help"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace reprise::http
