// reprise-demo: a ledger service that embeds the Reprise agent and generates
// its own traffic, so there is something to find, show and (later) reflow
// within a minute of starting it.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "ledger.h"
#include "reprise/agent/agent.h"
#include "reprise/base/version.h"

namespace {

constexpr char kUsage[] = R"(usage: reprise-demo [options]

A ledger service with the Reprise agent embedded. It ingests payments per
account (payments.received), keeps balances, and emits balance updates
(balance.updated) to a notifier downstream that fails now and then.

options:
  --listen ADDR          agent API address (default 127.0.0.1:7070; port 0 picks one)
  --journal URL          journal (default sqlite:reprise-demo.journal)
  --durability MODE      async | process | power (default async)
  --rate N               payments per second to generate (default 20; 0: none)
  --failure-rate P       share of notifier calls that fail, 0..1 (default 0.15)
  --invalid-rate P       share of payments with a malformed amount (default 0.03)
  --accounts N           number of accounts (default 40)
  --seed N               random seed, for repeatable traffic (default: random)
  --tls-cert FILE        serve the API over TLS with this certificate (PEM) ...
  --tls-key FILE         ... and its private key (PEM)
  --tls-client-ca FILE   mutual TLS: only clients with a certificate from this CA
  --token-file FILE      require API tokens ("NAME ROLE sha256:HEX" lines; make
                         them with `reprise token new NAME viewer|operator`)
  --redact-viewers       viewer tokens see message metadata only, no payloads
  --insecure             allow a non-loopback --listen without TLS and tokens
  --help                 this text
  --version              the version of Reprise it embeds
)";

bool ParseDouble(const char* s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s, &end);
  return end && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  reprise::AgentOptions agent_options{.service = "ledger",
                                      .journal = "sqlite:reprise-demo.journal",
                                      .listen = "127.0.0.1:7070"};
  reprise::demo::LedgerOptions ledger_options;
  double rate = 20;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "reprise-demo: %s needs a value (see --help)\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    double d = 0;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("reprise-demo %s (api reprise.v1)\n", reprise::kVersion);
      return 0;
    } else if (a == "--listen") {
      agent_options.listen = value();
    } else if (a == "--journal") {
      agent_options.journal = value();
    } else if (a == "--durability") {
      const char* v = value();
      auto mode = reprise::ParseDurability(v);
      if (!mode) {
        std::fprintf(stderr, "reprise-demo: unknown durability \"%s\"; use async, process or power\n", v);
        return 2;
      }
      agent_options.durability = *mode;
    } else if (a == "--rate" && ParseDouble(value(), &d) && d >= 0) {
      rate = d;
    } else if (a == "--failure-rate" && ParseDouble(value(), &d) && d >= 0 && d <= 1) {
      ledger_options.downstream_failure_rate = d;
    } else if (a == "--invalid-rate" && ParseDouble(value(), &d) && d >= 0 && d <= 1) {
      ledger_options.invalid_payment_rate = d;
    } else if (a == "--accounts" && ParseDouble(value(), &d) && d >= 1) {
      ledger_options.accounts = static_cast<int>(d);
    } else if (a == "--seed" && ParseDouble(value(), &d) && d >= 0) {
      ledger_options.seed = static_cast<uint64_t>(d);
    } else if (a == "--tls-cert") {
      agent_options.tls_cert = value();
    } else if (a == "--tls-key") {
      agent_options.tls_key = value();
    } else if (a == "--tls-client-ca") {
      agent_options.tls_client_ca = value();
    } else if (a == "--token-file") {
      agent_options.token_file = value();
    } else if (a == "--redact-viewers") {
      agent_options.redact_payloads_for_viewers = true;
    } else if (a == "--insecure") {
      agent_options.insecure = true;
    } else {
      std::fprintf(stderr, "reprise-demo: bad option or value \"%s\" (see --help)\n", argv[i]);
      return 2;
    }
  }

  // Signals are taken by sigwait below, not by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto agent = reprise::Agent::Start(agent_options);
  if (!agent.ok()) {
    std::fprintf(stderr, "reprise-demo: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  reprise::demo::Ledger ledger(ledger_options);
  ledger.Register(**agent);
  (void)(*agent)->ResumeJobs();  // handlers are in place: unfinished reflows go on

  std::printf("reprise-demo: ledger service listening on %s (journal %s, %s durability)\n",
              (*agent)->listen_address().c_str(), agent_options.journal.c_str(),
              std::string(reprise::DurabilityName(agent_options.durability)).c_str());
  std::printf("reprise-demo: connect with: reprise --agent %s\n", (*agent)->listen_address().c_str());
  std::fflush(stdout);

  std::atomic<bool> stop{false};
  std::thread traffic([&] {
    if (rate <= 0) return;
    auto interval = std::chrono::duration<double>(1.0 / rate);
    auto next = std::chrono::steady_clock::now();
    while (!stop.load()) {
      auto [key, payload] = ledger.NextPayment();
      (void)(*agent)->Deliver("payments.received", key, payload,
                              {.content_type = "application/json"});
      next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval);
      std::this_thread::sleep_until(next);
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("reprise-demo: %s received, shutting down\n", strsignal(sig));
  stop = true;
  traffic.join();
  auto flushed = (*agent)->Flush();
  if (!flushed.ok()) std::fprintf(stderr, "reprise-demo: %s\n", flushed.ToString().c_str());
  return 0;
}
