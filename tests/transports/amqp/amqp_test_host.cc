// A host that consumes a RabbitMQ queue into its journal, for the tests that
// kill it -9 (amqp_kill_test.cc). Usage:
//   reprise-amqp-test-host URL QUEUE JOURNAL DURABILITY [quiet]
// Its handler of "payments.received" prints "handled MESSAGE_ID" (unless
// quiet); a payload with "block" in it prints "blocking MESSAGE_ID" and never
// returns. Prints "ready" once consuming; stops at the end of standard input.
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/amqp/binding.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s URL QUEUE JOURNAL DURABILITY [quiet]\n", argv[0]);
    return 2;
  }
  const bool quiet = argc > 5 && std::string(argv[5]) == "quiet";
  auto agent = reprise::Agent::Start({.service = "amqp-host",
                                      .journal = argv[3],
                                      .listen = "",
                                      .durability = reprise::ParseDurability(argv[4]).value()});
  if (!agent.ok()) {
    std::fprintf(stderr, "%s\n", agent.status().ToString().c_str());
    return 1;
  }
  (*agent)->Handle("payments.received", [&](const reprise::Message& in, reprise::Context&) {
    const std::string id = in.headers.count("amqp-message-id") ? in.headers.at("amqp-message-id") : "";
    if (in.payload.find("block") != std::string::npos) {
      std::printf("blocking %s\n", id.c_str());
      std::fflush(stdout);
      while (true) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    if (!quiet) {
      std::printf("handled %s\n", id.c_str());
      std::fflush(stdout);
    }
    return reprise::Status::Ok();
  });
  auto binding = reprise::amqp::Binding::Start(
      **agent, {.connection = {.url = argv[1]}, .queue = argv[2], .channel = "payments.received",
                .declare = true, .key_path = "account"});
  if (!binding.ok() || !(*binding)->WaitConnected(std::chrono::seconds(30))) {
    std::fprintf(stderr, "not consuming: %s\n",
                 binding.ok() ? (*binding)->Stats().last_error.c_str() : binding.status().ToString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}
