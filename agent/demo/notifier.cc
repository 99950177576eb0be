// reprise-demo-notifier: the ledger's downstream, as a process of its own.
// It serves the balance.updated webhook on loopback, fails a share of the
// calls with HTTP 503 (an overloaded downstream), and counts what it got, so
// that a reflow of the failed calls can be seen reaching it.
//
//   reprise-demo-notifier --listen 127.0.0.1:0 --failure-rate 0.15
//   GET /stats: {"received":N,"ok":N,"failed":N,"reflowed":N,"reflowed_ok":N}
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include <httplib.h>

namespace {

constexpr char kUsage[] = R"(usage: reprise-demo-notifier [options]

The demo ledger's notifier downstream: accepts POST on any path (the
balance.updated webhook), answers 503 to a share of the calls, and counts
them. GET /stats gives the counts as JSON. Prints "listening on ADDR" once up.

options:
  --listen ADDR        host:port (default 127.0.0.1:0: a free port)
  --failure-rate P     share of calls answered 503, 0..1 (default 0.15)
  --seed N             random seed, for repeatable failures (default: random)
  --help               this text
)";

bool ParseDouble(const char* s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s, &end);
  return end != s && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  double failure_rate = 0.15;
  uint64_t seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    double d = 0;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (a == "--failure-rate" && i + 1 < argc && ParseDouble(argv[++i], &d) && d >= 0 && d <= 1) {
      failure_rate = d;
    } else if (a == "--seed" && i + 1 < argc && ParseDouble(argv[++i], &d) && d >= 0) {
      seed = static_cast<uint64_t>(d);
    } else {
      std::fprintf(stderr, "reprise-demo-notifier: bad option or value \"%s\" (see --help)\n", argv[i]);
      return 2;
    }
  }
  const size_t colon = listen.rfind(':');
  const int port = colon == std::string::npos ? -1 : std::atoi(listen.c_str() + colon + 1);
  if (colon == std::string::npos || port < 0 || port > 65535) {
    std::fprintf(stderr, "reprise-demo-notifier: --listen wants host:port, not \"%s\"\n", listen.c_str());
    return 2;
  }
  const std::string host = listen.substr(0, colon);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::atomic<uint64_t> received{0}, ok{0}, failed{0}, reflowed{0}, reflowed_ok{0};
  std::mutex rng_mu;
  std::mt19937_64 rng(seed);
  httplib::Server server;
  server.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
    received++;
    const bool copy = req.has_header("Reprise-Origin");
    if (copy) reflowed++;
    bool fail;
    {
      std::lock_guard<std::mutex> lock(rng_mu);
      fail = std::uniform_real_distribution<double>(0, 1)(rng) < failure_rate;
    }
    if (fail) {
      failed++;
      res.status = 503;
      res.set_content("downstream overloaded; retry later\n", "text/plain");
      return;
    }
    ok++;
    if (copy) reflowed_ok++;
    res.set_content("{\"notified\":true}\n", "application/json");
  });
  auto stats = [&] {
    return "{\"received\":" + std::to_string(received) + ",\"ok\":" + std::to_string(ok) +
           ",\"failed\":" + std::to_string(failed) + ",\"reflowed\":" + std::to_string(reflowed) +
           ",\"reflowed_ok\":" + std::to_string(reflowed_ok) + "}";
  };
  server.Get("/stats", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(stats() + "\n", "application/json");
  });
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "reprise-demo-notifier: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // for stop()
  std::printf("reprise-demo-notifier: listening on %s:%d (failing %.0f%% of calls with 503)\n",
              host.c_str(), bound, failure_rate * 100);
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  server.stop();
  serving.join();
  std::printf("reprise-demo-notifier: %s received; %s\n", strsignal(sig), stats().c_str());
  return 0;
}
