// HTTP requests/s through the inbound endpoint (reprise_http) into the
// journal, answered after the commit, against the same endpoint over an
// agent that records nothing (it runs the handler and its marks are always
// committed), in the same run: what recording and waiting for the commit
// cost an HTTP service. See docs/performance.md.
#include <httplib.h>

#include <atomic>
#include <thread>

#include "bench.h"
#include "reprise/agent/agent.h"
#include "reprise/http/endpoint.h"

namespace reprise::bench {
namespace {

// The baseline's agent: Deliver runs the handler and nothing is recorded.
class NoRecordingAgent final : public Agent {
 public:
  void Handle(std::string_view, Handler handler) override { handler_ = std::move(handler); }
  void Send(std::string_view, Sender) override {}
  void Derive(std::string_view, std::string_view, Deriver) override {}
  void Knob(std::string_view, std::string_view, std::vector<KnobArg>, KnobFn, KnobOptions) override {}
  Status Flow(std::string_view, std::vector<std::string>, std::string_view) override { return Status::Ok(); }
  DeliverResult Deliver(std::string_view channel, std::string_view key, std::string_view payload,
                        DeliverOptions options) override {
    struct NoContext final : Context {
      explicit NoContext(const Message& m) : m_(m) {}
      const Message& message() const override { return m_; }
      void Emit(std::string_view, std::string_view, std::string_view, Headers, std::string_view) override {}
      const Message& m_;
    };
    Message in;
    in.id = ids_.Next(0);
    in.channel = channel;
    in.key = key;
    in.payload = payload;
    in.headers = std::move(options.headers);
    in.content_type = std::move(options.content_type);
    NoContext ctx(in);
    return {.id = in.id, .status = handler_(in, ctx), .handled = true};
  }
  StatusOr<std::string> RecordInbound(std::string_view, std::string_view, std::string_view,
                                      DeliverOptions) override { return std::string(); }
  StatusOr<std::string> RecordOutbound(std::string_view, std::string_view, std::string_view,
                                       DeliverOptions) override { return std::string(); }
  Status RecordOutcome(std::string_view, Outcome, std::string_view) override { return Status::Ok(); }
  Status Flush() override { return Status::Ok(); }
  uint64_t RecordedMark() const override { return 0; }
  uint64_t CommittedMark() const override { return 0; }
  bool WaitCommitted(uint64_t, std::chrono::milliseconds) const override { return true; }
  void AddTransport(std::string_view, std::function<TransportStatus()>) override {}
  void RemoveTransport(std::string_view) override {}
  Status ResumeJobs() override { return Status::Ok(); }
  std::string listen_address() const override { return ""; }
  std::string metrics_address() const override { return ""; }
  AgentStats Stats() const override { return {}; }

 private:
  Handler handler_;
  UlidGenerator ids_;
};

constexpr size_t kServerThreads = 16;
constexpr int kClients = 16;

// Requests per second that kClients keep-alive clients get answered 200.
double Load(Agent& agent, double seconds, uint64_t* errors) {
  agent.Handle("payments.received", [](const Message&, Context&) { return Status::Ok(); });
  auto endpoint = http::Endpoint::Start(
      agent, {.channels = {{.name = "payments.received", .key_path = "account"}},
              .threads = kServerThreads});
  if (!endpoint.ok()) {
    std::fprintf(stderr, "bench: %s\n", endpoint.status().ToString().c_str());
    return 0;
  }
  const std::string url = "http://" + (*endpoint)->listen_address();
  RowSource src(256, 10000, 11);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client(url);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      uint64_t i = static_cast<uint64_t>(c);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string body = R"({"account":"account:)" + std::to_string(i % 10000) +
                                 R"(","data":)" + src.Payload(i) + "}";
        auto res = client.Post("/channels/payments.received", body, "application/json");
        (res && res->status == 200 ? ok : failed).fetch_add(1, std::memory_order_relaxed);
        i += kClients;
      }
    });
  }
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const uint64_t done = ok.load();
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  stop = true;
  for (auto& t : clients) t.join();
  *errors += failed.load();
  return static_cast<double>(done) / elapsed;
}

}  // namespace

void RunHttp(const Settings& s, Report& r) {
  const double seconds = s.Seconds(5, 2, 0.3);
  for (Durability mode : {Durability::kAsync, Durability::kProcess}) {
    const std::string name(DurabilityName(mode));
    uint64_t errors = 0;
    double base = 0, rate = 0;
    // Alternate, twice each, and keep each side's best: the machine is shared.
    for (int round = 0; round < 2; ++round) {
      NoRecordingAgent none;
      base = std::max(base, Load(none, seconds, &errors));
      auto agent = Agent::Start({.service = "bench",
                                 .journal = "sqlite:" + Scratch(s, "http-" + name + ".journal"),
                                 .listen = "",
                                 .durability = mode});
      if (!agent.ok()) {
        std::fprintf(stderr, "bench: %s\n", agent.status().ToString().c_str());
        return;
      }
      rate = std::max(rate, Load(**agent, seconds, &errors));
    }
    if (errors > 0) std::fprintf(stderr, "bench: %llu HTTP requests not answered 200\n",
                                 static_cast<unsigned long long>(errors));
    r.Add({.section = "http",
           .name = "HTTP POST /channels/NAME answered after the commit, " + name + ", " +
                   std::to_string(kClients) + " keep-alive clients",
           .unit = "req/s",
           .value = rate,
           .baseline = base,
           .baseline_name = "the same endpoint, nothing recorded",
           .target = ">= 0.8x baseline",
           .met = rate >= 0.8 * base,
           .note = errors > 0 ? std::to_string(errors) + " requests not answered 200" : ""});
  }
}

}  // namespace reprise::bench
