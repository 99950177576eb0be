// The wiring shown in docs/transports.md#http, compiled and run: the block
// between the [wiring] marks must appear there verbatim.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/test_env.h"

// [wiring]
#include "reprise/http/endpoint.h"
#include "reprise/http/webhook.h"

// Payments come in over HTTP; balance updates go out to a webhook.
reprise::StatusOr<std::unique_ptr<reprise::http::Endpoint>> WireHttp(
    reprise::Agent& agent, const std::string& listen, const std::string& notifier_url) {
  auto notify = reprise::http::WebhookSender({.url = notifier_url});
  if (!notify.ok()) return notify.status();
  agent.Send("balance.updated", *notify);
  return reprise::http::Endpoint::Start(agent, {
      .listen = listen,  // "0.0.0.0:8080"; port 0 picks one
      .channels = {{.name = "payments.received", .key_path = "account"}}});
}
// [wiring]

namespace reprise::http {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(WiringTest, TheDocsSnippetIsThisCode) {
  const std::string self = ReadFile(std::string(REPRISE_SOURCE_DIR) + "/tests/transports/http/wiring_test.cc");
  const std::string mark = "// [wiring]\n";
  const size_t begin = self.find(mark) + mark.size();
  const std::string snippet = self.substr(begin, self.find(mark, begin) - begin);
  ASSERT_GT(snippet.size(), 100u);
  const std::string docs = ReadFile(std::string(REPRISE_SOURCE_DIR) + "/docs/transports.md");
  EXPECT_NE(docs.find("```cpp\n" + snippet + "```\n"), std::string::npos)
      << "docs/transports.md must show this block verbatim:\n" << snippet;
  size_t lines = 0;
  for (char c : snippet) lines += c == '\n';
  EXPECT_LE(lines, 15u);
}

TEST(WiringTest, TheWiredServiceTakesAPaymentAndNotifies) {
  httplib::Server notifier;
  std::atomic<int> notified{0};
  notifier.Post("/balance", [&](const httplib::Request&, httplib::Response&) { notified++; });
  const int port = notifier.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { notifier.listen_after_bind(); });
  while (!notifier.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  testing::TempDir dir;
  auto agent = Agent::Start({.service = "ledger", .journal = "sqlite:" + dir.File("j"), .listen = ""});
  ASSERT_TRUE(agent.ok());
  (*agent)->Handle("payments.received", [](const Message& in, Context& ctx) {
    ctx.Emit("balance.updated", in.key, "{}");
    return Status::Ok();
  });
  auto endpoint = WireHttp(**agent, "127.0.0.1:0", "http://127.0.0.1:" + std::to_string(port) + "/balance");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  httplib::Client client("http://" + (*endpoint)->listen_address());
  auto res = client.Post("/channels/payments.received", R"({"account":"acc-1","amount":"3.00"})",
                         "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(notified, 1);
  notifier.stop();
  serving.join();
}

}  // namespace
}  // namespace reprise::http
