// A real RabbitMQ broker for tests and the benchmarks: one per process,
// started on first use (about 15 s) and stopped when the process exits.
//
// It runs from a temporary directory (its own Mnesia database, logs, node
// name and ports, and an epmd of its own on a port of its own), listens on
// 127.0.0.1 only, and is stopped with rabbitmqctl; its epmd is stopped by
// pid. RabbitMQ missing is a failure, not a skip: ./dev installs it.
#pragma once

#include <string>
#include <vector>

#include "reprise/base/status.h"

namespace reprise::testing {

class RabbitServer {
 public:
  // The broker of this process, started on first use.
  static StatusOr<RabbitServer*> Shared();

  // amqp://guest:guest@127.0.0.1:PORT/
  std::string url() const;
  int port() const { return port_; }

  // Runs rabbitmqctl against this broker; returns its standard output.
  StatusOr<std::string> Ctl(const std::vector<std::string>& args);
  // For outage tests: stops the RabbitMQ application (every connection is
  // dropped; durable queues and persistent messages stay) and starts it again.
  Status StopApp();
  Status StartApp();
  // Messages ready in `queue`, not counting those delivered and not acked
  // yet (which come back when their consumer goes); -1 for no such queue.
  StatusOr<int64_t> QueueDepth(const std::string& queue);

  ~RabbitServer();

 private:
  RabbitServer() = default;
  Status Init();
  std::vector<std::string> Env() const;
  Status WaitForPort(bool up, int seconds);

  std::string dir_;
  std::string node_;
  int port_ = 0;
  int epmd_port_ = 0;
  int pid_ = -1;
};

}  // namespace reprise::testing
