// reprise-test-host: a small service embedding the agent, for tests that need
// a real process. It seeds a deterministic journal and serves the API, or
// delivers messages until killed (crash tests).
//
//   reprise-test-host --listen 127.0.0.1:0 --journal sqlite:/tmp/x.journal
//   reprise-test-host --journal sqlite:/tmp/x.journal --durability process --deliver-forever
//   reprise-test-host --journal postgresql://... --deliver-forever --deliver-rate 300
//                     --deliver-for-ms 5000 --overload drop --max-queue-bytes 65536
//                     steady traffic for a while, then flush and serve (outage tests)
//   reprise-test-host --no-seed --seed-failures 500 ...  then --fixed to "deploy the fix"
//   reprise-test-host --flows ...  declares test.flow (v1, v2, v3; default v1) and a knob
//                                  flow.probe keys=a,b,c that reports each key's variant
//   reprise-test-host --token-file F --tls-cert C --tls-key K [--tls-client-ca CA] ...
//                                  security (docs/security.md)
//   reprise-test-host --ledger ...  the demo's ledger (flow ledger.rounding, deriver balance)
//                                   instead of the test handlers, seeded with three payments
//                                   for each of account:1..4 (v1 balance 6.10, v2 6.12)
//   reprise-test-host --instance NAME --heartbeat-ms N --gone-after-ms N --lease-ms N
//                                   fleet settings (several hosts on one journal)
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "ledger.h"
#include "reprise/agent/agent.h"

namespace {

struct HostOptions {
  bool fixed = false;           // the handler's bug is fixed: "bad" amounts are accepted
  bool healthy_downstream = false;
  int handler_delay_ms = 0;
};

// payments.received: fails on a "bad" amount (unless fixed), throws on
// "throw", otherwise emits balance.updated. balance.updated: every third
// send fails (unless the downstream is healthy).
void Register(reprise::Agent& agent, const HostOptions& host) {
  agent.Handle("payments.received", [host](const reprise::Message& in, reprise::Context& ctx) {
    if (host.handler_delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(host.handler_delay_ms));
    }
    if (!host.fixed && in.payload.find("\"amount\":\"bad\"") != std::string::npos) {
      return reprise::InvalidArgument("invalid amount \"bad\": expected a decimal number");
    }
    if (in.payload.find("throw") != std::string::npos) {
      throw std::runtime_error("boom: the handler threw");
    }
    ctx.Emit("balance.updated", in.key, "{\"account\":\"" + in.key + "\",\"balance\":\"1.00\"}",
             {{"source", "test-host"}}, "application/json");
    return reprise::Status::Ok();
  });
  static std::atomic<int> sends{0};
  agent.Send("balance.updated", [host](const reprise::Message&) {
    if (!host.healthy_downstream && ++sends % 3 == 0) {
      return reprise::Unavailable("downstream timeout after 5s");
    }
    return reprise::Status::Ok();
  });
}

// Inbound payments that the unfixed handler rejects, spread over `keys` keys.
void SeedFailures(reprise::Agent& agent, int n, int keys) {
  for (int i = 0; i < n; ++i) {
    (void)agent.Deliver("payments.received", "account:" + std::to_string(i % keys),
                        "{\"amount\":\"bad\",\"n\":" + std::to_string(i) + "}");
  }
}

int Seed(reprise::Agent& agent) {
  int n = 0;
  for (int i = 1; i <= 12; ++i) {
    std::string key = "account:" + std::to_string(i % 4 + 1);
    std::string amount = i == 5 ? "bad" : std::to_string(i) + ".50";
    std::string payload = "{\"payment_id\":\"p-" + std::to_string(i) + "\",\"amount\":\"" + amount +
                          "\",\"n\":" + std::to_string(i) + "}";
    reprise::DeliverOptions opts{.headers = {{"tenant", i % 2 ? "acme" : "globex"}},
                                 .content_type = "application/json"};
    (void)agent.Deliver("payments.received", key, payload, opts);
    ++n;
  }
  (void)agent.Deliver("payments.received", "account:9", "{\"amount\":\"1\",\"throw\":true}");
  std::string binary("\x00\x01\x02\xff\xfe binary \x7f", 15);
  (void)agent.Deliver("blobs.received", "blob:1", binary, {.content_type = "application/octet-stream"});
  return n + 2;
}

}  // namespace

// Flows: the knob delivers one "flow.probe" message per key; its handler
// reports what ctx.Flow resolved, so a test can ask a running process.
void RegisterFlows(reprise::Agent& agent) {
  if (auto st = agent.Flow("test.flow", {"v1", "v2", "v3"}, "v1"); !st.ok()) {
    std::fprintf(stderr, "reprise-test-host: %s\n", st.ToString().c_str());
  }
  static std::mutex mu;
  static std::map<std::string, std::string> seen;  // key -> variant; guarded by mu
  agent.Handle("flow.probe", [](const reprise::Message& in, reprise::Context& ctx) {
    std::string variant = ctx.Flow("test.flow");
    std::lock_guard<std::mutex> lock(mu);
    seen[in.key] = variant;
    return reprise::Status::Ok();
  });
  agent.Knob("flow.probe", "Resolve test.flow for keys (comma-separated): key=variant,...",
             {{"keys", reprise::ArgType::kString, "a,b,c"}},
             [host = &agent](const reprise::Args& a) -> reprise::StatusOr<std::string> {
               std::string keys = a.String("keys"), out;
               size_t start = 0;
               while (start <= keys.size()) {
                 size_t comma = keys.find(',', start);
                 if (comma == std::string::npos) comma = keys.size();
                 std::string key = keys.substr(start, comma - start);
                 (void)host->Deliver("flow.probe", key, "{}");  // runs the handler before returning
                 std::lock_guard<std::mutex> lock(mu);
                 out += (out.empty() ? "" : ",") + key + "=" + seen[key];
                 start = comma + 1;
               }
               return out;
             });
}

// The ledger's seed: 1.005 + 2.105 + 3.000 per account, 6.10 truncated (v1)
// and 6.12 rounded (v2), with a healthy notifier.
int SeedLedger(reprise::Agent& agent) {
  int n = 0;
  for (const char* amount : {"1.005", "2.105", "3.000"}) {
    for (int account = 1; account <= 4; ++account) {
      std::string key = "account:" + std::to_string(account);
      std::string payload = "{\"payment_id\":\"p-" + std::to_string(++n) + "\",\"account\":\"" +
                            key + "\",\"amount\":\"" + amount + "\"}";
      (void)agent.Deliver("payments.received", key, payload, {.content_type = "application/json"});
    }
  }
  return n;
}

int main(int argc, char** argv) {
  reprise::AgentOptions options{.service = "test-host", .listen = "127.0.0.1:0"};
  bool deliver_forever = false, seed = true, flows = false, ledger = false;
  int seed_failures = 0, seed_keys = 5;
  int deliver_rate = 0;    // per second; 0: as fast as possible
  int deliver_for_ms = 0;  // 0: until killed
  HostOptions host;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--listen") options.listen = next();
    else if (a == "--journal") options.journal = next();
    else if (a == "--service") options.service = next();
    else if (a == "--durability") options.durability = reprise::ParseDurability(next()).value_or(reprise::Durability::kAsync);
    else if (a == "--intent-log") options.intent_log = next();
    else if (a == "--max-payload") options.max_payload_bytes = std::stoul(next());
    else if (a == "--tls-cert") options.tls_cert = next();
    else if (a == "--tls-key") options.tls_key = next();
    else if (a == "--tls-client-ca") options.tls_client_ca = next();
    else if (a == "--token-file") options.token_file = next();
    else if (a == "--redact-viewers") options.redact_payloads_for_viewers = true;
    else if (a == "--insecure") options.insecure = true;
    else if (a == "--mutating-calls-per-minute") options.mutating_calls_per_minute = std::stoul(next());
    else if (a == "--deliver-forever") deliver_forever = true;
    else if (a == "--deliver-rate") deliver_rate = std::stoi(next());
    else if (a == "--deliver-for-ms") deliver_for_ms = std::stoi(next());
    else if (a == "--overload") options.overload = reprise::ParseOverloadPolicy(next()).value_or(reprise::OverloadPolicy::kBlock);
    else if (a == "--max-queue-bytes") options.max_queue_bytes = std::stoul(next());
    else if (a == "--no-seed") seed = false;
    else if (a == "--seed-failures") seed_failures = std::stoi(next());
    else if (a == "--seed-keys") seed_keys = std::stoi(next());
    else if (a == "--fixed") host.fixed = true;
    else if (a == "--flows") flows = true;
    else if (a == "--ledger") ledger = true;
    else if (a == "--healthy-downstream") host.healthy_downstream = true;
    else if (a == "--handler-delay-ms") host.handler_delay_ms = std::stoi(next());
    else if (a == "--instance") options.instance = next();
    else if (a == "--heartbeat-ms") options.heartbeat_every = std::chrono::milliseconds(std::stoi(next()));
    else if (a == "--gone-after-ms") options.gone_after = std::chrono::milliseconds(std::stoi(next()));
    else if (a == "--lease-ms") options.lease = std::chrono::milliseconds(std::stoi(next()));
    else {
      std::fprintf(stderr, "reprise-test-host: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto agent = reprise::Agent::Start(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "reprise-test-host: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  reprise::demo::Ledger demo_ledger({.downstream_failure_rate = 0, .invalid_payment_rate = 0,
                                     .accounts = 4, .seed = 1});
  if (ledger) {
    demo_ledger.Register(**agent);
  } else {
    Register(**agent, host);
  }
  if (flows) RegisterFlows(**agent);
  (void)(*agent)->ResumeJobs();  // handlers are registered: unfinished jobs may go on

  if (deliver_forever) {
    // Every "delivered" line names a message whose Deliver has returned OK:
    // the crash tests check each of them is in the journal after kill -9.
    // A Deliver that failed (in process durability: the journal could not
    // commit the record) prints "failed ID: STATUS".
    if (!(*agent)->listen_address().empty()) {
      std::printf("listening on %s\n", (*agent)->listen_address().c_str());
    }
    std::printf("delivering\n");
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0;; ++i) {
      if (deliver_rate > 0) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(i * 1000000L / deliver_rate));
      }
      if (deliver_for_ms > 0 && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(deliver_for_ms)) {
        break;
      }
      auto r = (*agent)->Deliver("payments.received", "account:" + std::to_string(i % 7),
                                 "{\"amount\":\"" + std::to_string(i) + ".00\"}");
      if (!r.id.empty() && r.status.ok()) std::printf("delivered %s\n", r.id.c_str());
      else std::printf("failed %s: %s\n", r.id.c_str(), r.status.ToString().c_str());
      std::fflush(stdout);
    }
    // Bounded: the journal may still be recovering from an outage.
    for (int attempt = 0; attempt < 120; ++attempt) {
      if ((*agent)->Flush().ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    std::printf("flushed\n");
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    return 0;
  }
  if (seed_failures > 0) SeedFailures(**agent, seed_failures, seed_keys);
  if (seed) std::printf("seeded %d inbound messages\n", ledger ? SeedLedger(**agent) : Seed(**agent));
  if (auto st = (*agent)->Flush(); !st.ok()) {
    std::fprintf(stderr, "reprise-test-host: %s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\n", (*agent)->listen_address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  return 0;
}
