// An AMQP inbound binding: consumes a RabbitMQ queue into an agent's channel.
//
//   auto payments = reprise::amqp::Binding::Start(*agent, {
//       .connection = {.url = "amqp://guest:guest@127.0.0.1:5672/"},
//       .queue = "payments", .channel = "payments.received", .key_path = "account"});
//
// Every delivery goes through Agent::Deliver (recorded, handled) and is
// acknowledged only once its records are committed to the journal, in every
// durability mode; redeliveries become further attempts of the same message.
// docs/transports.md says exactly when an ack is sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reprise/agent/agent.h"
#include "reprise/amqp/connection.h"
#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise::amqp {

// What a delivery whose handler failed gets from the broker.
enum class FailedPolicy {
  kAck,     // acked: the journal keeps the failure, to reflow (the default)
  kReject,  // rejected without requeue: to the queue's dead-letter exchange
};

struct BindingOptions {
  ConnectionOptions connection;
  std::string queue;    // the queue to consume
  std::string channel;  // the agent's channel its messages are recorded on
  // Unacked deliveries the broker may send ahead (basic.qos prefetch).
  uint16_t prefetch = 500;
  // Declarations, made at every (re)connection when `declare` is set: the
  // queue (durable; with x-dead-letter-exchange when dead_letter_exchange is
  // set), and a binding of it to `exchange` per routing key.
  bool declare = false;
  std::string dead_letter_exchange;
  std::string exchange;
  std::vector<std::string> routing_keys;
  // The message's key: the application header `key_header`, else the JSON
  // payload's field at `key_path` ("account" or "account.id"), else "".
  std::string key_header;
  std::string key_path;
  FailedPolicy on_failed = FailedPolicy::kAck;
  // Name in Describe and `status` (default "amqp:" + queue).
  std::string name;
};

// Consumes on a thread of its own, reconnecting with back-off when the
// connection drops. Thread-safe: Stats and WaitConnected from any thread.
// The agent must outlive the binding.
class REPRISE_EXPORT Binding {
 public:
  // Checks the options, registers the binding with the agent
  // (AddTransport) and starts consuming; a broker not reachable yet is
  // retried in the background (see Stats().last_error).
  static StatusOr<std::unique_ptr<Binding>> Start(Agent& agent, BindingOptions options);
  // Stops consuming, acks what is committed by then (waiting at most
  // connect_timeout) and closes the connection: the rest is redelivered.
  virtual ~Binding() = default;

  // True once consuming (again); false when `timeout` passed first.
  virtual bool WaitConnected(std::chrono::milliseconds timeout) const = 0;
  // The binding as Describe shows it: connected, last error, counters
  // "delivered", "acked", "rejected", "unacked", "redeliveries",
  // "duplicates" (already handled: not run again), "reconnects", "blocked".
  virtual TransportStatus Stats() const = 0;
};

}  // namespace reprise::amqp
