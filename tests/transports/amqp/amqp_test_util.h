// Shared by the AMQP tests: the binary's broker (one for all tests, started
// by BrokerEnvironment), a plain rabbitmq-c client to declare, publish and
// read what a test checks, and the journal read back.
#pragma once

#include <amqp.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "reprise/agent/agent.h"
#include "reprise/store/journal.h"
#include "support/rabbitmq_server.h"

namespace reprise::testing {

// The broker, started once; a test fails when it cannot start.
RabbitServer& Broker();

// A plain client, not thread-safe; every call asserts success.
class RawAmqp {
 public:
  RawAmqp();
  ~RawAmqp();
  void DeclareQueue(const std::string& queue, const std::string& dead_letter_exchange = "");
  void DeclareExchange(const std::string& exchange, const std::string& type);
  void Bind(const std::string& queue, const std::string& exchange, const std::string& key);
  void Publish(const std::string& queue, const std::string& body, const std::string& message_id,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  struct Got {
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // text values
  };
  // basic.get with ack; nullopt when the queue is empty.
  std::optional<Got> Get(const std::string& queue);

 private:
  void Check(const char* what);
  amqp_connection_state_t c_;
};

// Every message of the journal at `url` oldest first, read in pages.
std::vector<Message> ReadJournal(const std::string& url, const std::string& filter = "");

// The counter `name` of a transport's status (a test failure when it has none).
uint64_t Counter(const TransportStatus& s, const std::string& name);

// A queue name of its own for a test.
std::string UniqueQueue(const std::string& base);

}  // namespace reprise::testing
