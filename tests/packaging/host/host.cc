// A service outside Reprise's tree, built against an installed Reprise by
// tests/packaging/check.sh (with CMake and with pkg-config, static and
// shared, from a prefix and from the unpacked .debs). It records one message,
// prints the address of its API and serves until its standard input closes.
//
//   packaged-host JOURNAL_FILE
#include <cstdio>
#include <string>

#include "reprise/agent/agent.h"
#include "reprise/base/version.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: packaged-host JOURNAL_FILE\n");
    return 2;
  }
  auto agent = reprise::Agent::Start({.service = "packaged-host",
                                      .journal = std::string("sqlite:") + argv[1],
                                      .listen = "127.0.0.1:0"});
  if (!agent.ok()) {
    std::fprintf(stderr, "packaged-host: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  (*agent)->Handle("greetings.received", [](const reprise::Message&, reprise::Context&) {
    return reprise::Status::Ok();
  });
  reprise::DeliverResult r =
      (*agent)->Deliver("greetings.received", "host:1", R"({"text":"hello from an installed Reprise"})");
  reprise::Status flushed = (*agent)->Flush();
  if (!r.status.ok() || !flushed.ok()) {
    std::fprintf(stderr, "packaged-host: %s %s\n", r.status.ToString().c_str(), flushed.ToString().c_str());
    return 1;
  }
  std::printf("packaged-host %s recorded %s, listening on %s\n", reprise::kVersion, r.id.c_str(),
              (*agent)->listen_address().c_str());
  std::fflush(stdout);
  while (std::fgetc(stdin) != EOF) {
  }
  return 0;
}
