// RabbitMQ consumption through the agent against a raw rabbitmq-c loop, in the
// same run on the same broker and queue: messages/s consumed, recorded into
// the journal and acked through reprise::amqp::Binding (async and process
// durability), and the same messages consumed and acked one by one by a
// plain rabbitmq-c loop that records nothing (the raw limit).
//
// The broker is a throwaway one, started the way the tests start theirs
// (tests/support/rabbitmq_server.h). Every message has a message_id, so the
// agent's side pays the redelivery lookup of each delivery.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "bench.h"
#include "reprise/agent/agent.h"
#include "reprise/amqp/binding.h"
#include "support/rabbitmq_server.h"

namespace reprise::bench {
namespace {

double Elapsed(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// A plain connection on channel 1; null on failure (printed).
amqp_connection_state_t Open(int port) {
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t* s = amqp_tcp_socket_new(c);
  if (amqp_socket_open(s, "127.0.0.1", port) != AMQP_STATUS_OK ||
      amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL) {
    amqp_destroy_connection(c);
    return nullptr;
  }
  amqp_channel_open(c, 1);
  return c;
}

void Close(amqp_connection_state_t c) {
  amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
}

// Declares `queue` and fills it with `n` messages shaped like the journal
// sections' rows (a JSON payload, an account key, a message_id).
Status Fill(testing::RabbitServer& broker, const std::string& queue, uint64_t n, RowSource& rows) {
  amqp_connection_state_t c = Open(broker.port());
  if (c == nullptr) return Unavailable("cannot connect to the broker");
  amqp_queue_declare(c, 1, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0, amqp_empty_table);
  for (uint64_t i = 0; i < n; ++i) {
    const std::string id = queue + "-" + std::to_string(i);
    amqp_basic_properties_t p{};
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.delivery_mode = 2;
    p.message_id = amqp_cstring_bytes(id.c_str());
    p.content_type = amqp_cstring_bytes("application/json");
    const std::string& body = rows.Payload(i);
    amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0, &p,
                       amqp_bytes_t{body.size(), const_cast<char*>(body.data())});
  }
  Close(c);
  // Published without confirms: wait until the broker holds them all.
  for (int i = 0; i < 600; ++i) {
    auto depth = broker.QueueDepth(queue);
    if (depth.ok() && *depth >= static_cast<int64_t>(n)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceeded("the broker did not report " + std::to_string(n) + " messages in " + queue);
}

// The raw limit: consume with the same prefetch, ack each message.
StatusOr<double> RawRate(testing::RabbitServer& broker, const std::string& queue, uint64_t n) {
  amqp_connection_state_t c = Open(broker.port());
  if (c == nullptr) return Unavailable("cannot connect to the broker");
  amqp_basic_qos(c, 1, 0, amqp::BindingOptions().prefetch, 0);
  amqp_basic_consume(c, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  const auto start = Clock::now();
  uint64_t got = 0;
  while (got < n) {
    amqp_maybe_release_buffers(c);
    amqp_envelope_t e;
    timeval tv{10, 0};
    if (amqp_consume_message(c, &e, &tv, 0).reply_type != AMQP_RESPONSE_NORMAL) break;
    amqp_basic_ack(c, 1, e.delivery_tag, 0);
    amqp_destroy_envelope(&e);
    ++got;
  }
  const double rate = got / Elapsed(start);
  Close(c);
  if (got < n) return Unavailable("the raw loop got " + std::to_string(got) + " of " + std::to_string(n));
  return rate;
}

// Through the agent: a binding into a fresh SQLite journal, a handler that
// does nothing, until every message is acked.
StatusOr<double> AgentRate(const Settings& s, testing::RabbitServer& broker, const std::string& queue, uint64_t n,
                           Durability durability) {
  auto agent = Agent::Start({.service = "bench-amqp",
                             .journal = "sqlite:" + Scratch(s, "amqp-" + std::string(DurabilityName(durability))),
                             .listen = "",
                             .durability = durability});
  if (!agent.ok()) return agent.status();
  (*agent)->Handle("bench.payments", [](const Message&, Context&) { return Status::Ok(); });
  const auto start = Clock::now();
  auto binding = amqp::Binding::Start(**agent, {.connection = {.url = broker.url()}, .queue = queue,
                                                .channel = "bench.payments", .key_path = "account"});
  if (!binding.ok()) return binding.status();
  auto acked = [&] {
    for (const auto& [name, v] : (*binding)->Stats().counters) {
      if (name == "acked") return v;
    }
    return uint64_t{0};
  };
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (acked() < n && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const double rate = acked() / Elapsed(start);
  if (acked() < n) {
    return Unavailable("the binding acked " + std::to_string(acked()) + " of " + std::to_string(n) + ": " +
                       (*binding)->Stats().last_error);
  }
  return rate;
}

}  // namespace

void RunAmqp(const Settings& s, Report& r) {
  const uint64_t n = s.Count(50000, 20000, 2000);
  const int runs = s.size == Size::kFull ? 3 : 1;
  struct Row {
    Durability durability;
    double target;
  };
  const Row rows[] = {{Durability::kAsync, 0.8}, {Durability::kProcess, 0.6}};
  auto not_measured = [&](const std::string& why) {
    for (const Row& row : rows) {
      r.Add({.section = "amqp",
             .name = "RabbitMQ consumed, recorded and acked (" + std::string(DurabilityName(row.durability)) + ")",
             .unit = "msg/s",
             .note = "not measured: " + why});
    }
    std::fprintf(stderr, "bench: amqp: %s\n", why.c_str());
  };
  auto broker = testing::RabbitServer::Shared();
  if (!broker.ok()) return not_measured("no RabbitMQ broker: " + broker.status().ToString());
  RowSource source(256, 10000, 7);

  // Alternating runs on one queue refilled each time; the best of each side.
  double raw_best = 0, best[2] = {0, 0};
  for (int run = 0; run < runs; ++run) {
    const std::string queue = "bench.amqp." + std::to_string(getpid());
    if (Status st = Fill(**broker, queue, n, source); !st.ok()) return not_measured(st.ToString());
    auto raw = RawRate(**broker, queue, n);
    if (!raw.ok()) return not_measured("raw loop: " + raw.status().ToString());
    raw_best = std::max(raw_best, *raw);
    std::printf("    run %d: raw rabbitmq-c %.0f msg/s", run + 1, *raw);
    for (int i = 0; i < 2; ++i) {
      if (Status st = Fill(**broker, queue, n, source); !st.ok()) return not_measured(st.ToString());
      auto rate = AgentRate(s, **broker, queue, n, rows[i].durability);
      if (!rate.ok()) return not_measured(rate.status().ToString());
      best[i] = std::max(best[i], *rate);
      std::printf(", agent %s %.0f msg/s", std::string(DurabilityName(rows[i].durability)).c_str(), *rate);
    }
    std::printf("\n");
  }
  for (int i = 0; i < 2; ++i) {
    Figure f{.section = "amqp",
             .name = "RabbitMQ consumed, recorded and acked (" + std::string(DurabilityName(rows[i].durability)) + ")",
             .unit = "msg/s",
             .value = best[i],
             .baseline = raw_best,
             .baseline_name = "rabbitmq-c consume + ack per message, no journal",
             .target = ">= " + std::to_string(rows[i].target).substr(0, 3) + " x raw loop"};
    f.met = best[i] >= rows[i].target * raw_best;
    f.note = "best of " + std::to_string(runs) + ", " + std::to_string(n) + " messages of 256 bytes";
    r.Add(f);
  }
}

}  // namespace reprise::bench
