// The out-of-tree host of the transports (tests/packaging/check.sh), built
// against an installed Reprise with Reprise::http and Reprise::amqp (CMake)
// or reprise-http and reprise-amqp (pkg-config):
//   transport-host JOURNAL_PATH
// It serves an HTTP endpoint, sends it a message through a webhook sender,
// and starts an AMQP binding to a broker that is not there (the binding
// retries in the background and says why in its status). Prints
// "transports ok: ..." and exits 0 when all of that went as it should.
#include <atomic>
#include <cstdio>
#include <string>

#include "reprise/agent/agent.h"
#include "reprise/amqp/binding.h"
#include "reprise/http/endpoint.h"
#include "reprise/http/webhook.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s JOURNAL_PATH\n", argv[0]);
    return 2;
  }
  auto agent = reprise::Agent::Start(
      {.service = "transport-host", .journal = std::string("sqlite:") + argv[1], .listen = ""});
  if (!agent.ok()) {
    std::fprintf(stderr, "agent: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  std::atomic<int> handled{0};
  (*agent)->Handle("hello", [&](const reprise::Message&, reprise::Context&) {
    ++handled;
    return reprise::Status::Ok();
  });
  auto endpoint = reprise::http::Endpoint::Start(**agent, {.channels = {{.name = "hello", .key_header = "X-Key"}}});
  if (!endpoint.ok()) {
    std::fprintf(stderr, "endpoint: %s\n", endpoint.status().ToString().c_str());
    return 1;
  }
  auto webhook =
      reprise::http::WebhookSender({.url = "http://" + (*endpoint)->listen_address() + "/channels/hello"});
  if (!webhook.ok()) {
    std::fprintf(stderr, "webhook: %s\n", webhook.status().ToString().c_str());
    return 1;
  }
  reprise::Message out{.id = "01J00000000000000000000000", .channel = "hello", .headers = {{"x-key", "k"}}, .payload = "hi"};
  if (reprise::Status sent = (*webhook)(out); !sent.ok() || handled.load() != 1) {
    std::fprintf(stderr, "webhook to the endpoint: %s, handled %d\n", sent.ToString().c_str(), handled.load());
    return 1;
  }
  auto binding = reprise::amqp::Binding::Start(
      **agent, {.connection = {.url = "amqp://guest:guest@127.0.0.1:1/"}, .queue = "q", .channel = "hello"});
  if (!binding.ok()) {
    std::fprintf(stderr, "binding: %s\n", binding.status().ToString().c_str());
    return 1;
  }
  if ((*binding)->WaitConnected(std::chrono::milliseconds(300))) {
    std::fprintf(stderr, "the binding says it connected to a broker that is not there\n");
    return 1;
  }
  const reprise::TransportStatus s = (*binding)->Stats();
  if (s.kind != "amqp" || (*agent)->Stats().transports.size() != 1) {
    std::fprintf(stderr, "the binding is not among the agent's transports\n");
    return 1;
  }
  std::printf("transports ok: a webhook call recorded through the endpoint, amqp binding %s (%s)\n",
              s.connected ? "connected" : "not connected", s.last_error.c_str());
  return 0;
}
