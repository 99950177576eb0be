// MetricsServer: answers GET /metrics with the Prometheus text exposition on
// a plain HTTP listener (AgentOptions.metrics_listen). One thread, one
// request per connection, then close: a scraper's load, not a web server's,
// and no HTTP library in the agent for it.
// Thread-safe: Start, then only the destructor.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "reprise/base/status.h"

namespace reprise {

class MetricsServer {
 public:
  // Listens on `listen` ("HOST:PORT", or "PORT" for 127.0.0.1:PORT; port 0
  // picks a free one) and serves what `render` returns at each scrape.
  static StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                        std::function<std::string()> render);
  ~MetricsServer();  // stops answering and joins the thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "HOST:PORT" with the port actually bound.
  const std::string& listen_address() const { return address_; }

 private:
  MetricsServer(int listener, int wake[2], std::string address, std::function<std::string()> render);
  void Serve();
  void Answer(int connection);

  const int listener_;
  const int wake_[2];  // a pipe: the destructor writes, Serve's poll wakes
  const std::string address_;
  const std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace reprise
