// An AMQP sender: publishes an agent's outbound messages to RabbitMQ.
//
//   auto notify = reprise::amqp::Sender::Start(*agent, {
//       .connection = {.url = "amqp://127.0.0.1:5672/"},
//       .channel = "balance.updated", .exchange = "balances"});
//
// Every publish is `mandatory` and confirmed: Send's status is OK only on
// the broker's ack. A nack, a return (unroutable) or a lost connection is an
// error, so the message is recorded `failed` and is a reflow candidate.
// Reflowed copies carry the headers reprise-origin and reprise-job.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "reprise/agent/agent.h"
#include "reprise/amqp/connection.h"
#include "reprise/base/export.h"
#include "reprise/base/status.h"
#include "reprise/store/message.h"

namespace reprise::amqp {

struct SenderOptions {
  ConnectionOptions connection;
  std::string channel;      // the agent's channel it sends (Agent::Send)
  std::string exchange;     // "" is the default exchange (routing key = queue)
  std::string routing_key;  // default: the message's channel
  // Connections publishing at once: concurrent Sends beyond this wait.
  int connections = 2;
  // How long a publish may wait for the broker's confirm (and for a
  // connection.blocked to lift) before it is failed.
  std::chrono::milliseconds confirm_timeout{10000};
  std::string name;  // in Describe and `status` (default "amqp-out:" + channel)
};

// Thread-safe: Send from any number of threads; each rabbitmq-c connection
// is used by one thread at a time. The agent must outlive the sender.
class REPRISE_EXPORT Sender {
 public:
  // Registers itself as the channel's sender (Agent::Send) and with
  // AddTransport; connects on first use.
  static StatusOr<std::unique_ptr<Sender>> Start(Agent& agent, SenderOptions options);
  virtual ~Sender() = default;

  // Publishes `out` and waits for the broker's confirm.
  virtual Status Send(const Message& out) = 0;
  // Connected, last error, counters "sent", "confirmed", "failed",
  // "returned", "nacked", "reconnects", "blocked".
  virtual TransportStatus Stats() const = 0;
};

}  // namespace reprise::amqp
