#include "reprise/amqp/binding.h"

#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "connection.h"
#include "payload_key.h"

namespace reprise::amqp {
namespace {

using std::chrono::milliseconds;

// An application header's value as text; nullopt for tables, arrays and
// other shapes a header of a record cannot hold.
std::optional<std::string> FieldText(const amqp_field_value_t& v) {
  switch (v.kind) {
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: return String(v.value.bytes);
    case AMQP_FIELD_KIND_BOOLEAN: return v.value.boolean ? "true" : "false";
    case AMQP_FIELD_KIND_I8: return std::to_string(v.value.i8);
    case AMQP_FIELD_KIND_U8: return std::to_string(v.value.u8);
    case AMQP_FIELD_KIND_I16: return std::to_string(v.value.i16);
    case AMQP_FIELD_KIND_U16: return std::to_string(v.value.u16);
    case AMQP_FIELD_KIND_I32: return std::to_string(v.value.i32);
    case AMQP_FIELD_KIND_U32: return std::to_string(v.value.u32);
    case AMQP_FIELD_KIND_I64: return std::to_string(v.value.i64);
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP: return std::to_string(v.value.u64);
    case AMQP_FIELD_KIND_F32: return std::to_string(v.value.f32);
    case AMQP_FIELD_KIND_F64: return std::to_string(v.value.f64);
    default: return std::nullopt;
  }
}

// Thread-safe: the consumer thread does the AMQP work; Stats and
// WaitConnected read atomics and what mu_ guards.
class BindingImpl final : public Binding {
 public:
  BindingImpl(Agent& agent, BindingOptions options)
      : agent_(agent), o_(std::move(options)), endpoint_(RedactedUrl(o_.connection.url) + " queue " + o_.queue) {}

  void Begin() {
    agent_.AddTransport(o_.name, [this] { return Stats(); });
    thread_ = std::thread([this] { Run(); });
  }

  ~BindingImpl() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    agent_.RemoveTransport(o_.name);
  }

  bool WaitConnected(milliseconds timeout) const override {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return connected_ || stop_; }) && connected_;
  }

  TransportStatus Stats() const override {
    TransportStatus s{.kind = "amqp", .endpoint = endpoint_, .channel = o_.channel};
    {
      std::lock_guard lock(mu_);
      s.connected = connected_;
      s.last_error = last_error_;
    }
    s.counters = {{"delivered", delivered_.load()},       {"acked", acked_.load()},
                  {"rejected", rejected_.load()},         {"unacked", unacked_.load()},
                  {"redeliveries", redeliveries_.load()}, {"reconnects", reconnects_.load()},
                  {"blocked", blocked_.load()}};
    return s;
  }

 private:
  struct Pending {
    uint64_t tag;   // the broker's delivery tag
    uint64_t mark;  // Agent::RecordedMark() after its records
    bool reject;
  };

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stop_;
  }

  void SetConnected(bool connected, const Status& error) {
    {
      std::lock_guard lock(mu_);
      connected_ = connected;
      if (!error.ok()) last_error_ = error.message();
    }
    cv_.notify_all();
  }

  // Connects, consumes until the connection fails or the binding stops,
  // and does it again after a back-off.
  void Run() {
    Backoff backoff(o_.connection);
    bool first = true;
    while (!stopping()) {
      if (!first) reconnects_.fetch_add(1);
      first = false;
      Status st = Connect();
      if (st.ok()) {
        backoff.Reset();
        SetConnected(true, Status::Ok());
        st = Consume();
      }
      // Unacked deliveries go back to the queue with the connection; what
      // the broker redelivers is looked up in the journal.
      FinishConnection(st);
      if (!st.ok()) {
        std::fprintf(stderr, "reprise: amqp binding %s: %s\n", o_.name.c_str(), st.ToString().c_str());
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, backoff.Next(), [&] { return stop_; });
    }
  }

  Status Connect() {
    REPRISE_ASSIGN_OR_RETURN(conn_, Connection::Open(o_.connection));
    amqp_connection_state_t s = conn_->state();
    if (o_.declare) {
      amqp_table_entry_t dlx;
      dlx.key = amqp_cstring_bytes("x-dead-letter-exchange");
      dlx.value.kind = AMQP_FIELD_KIND_UTF8;
      dlx.value.value.bytes = Bytes(o_.dead_letter_exchange);
      amqp_table_t args = o_.dead_letter_exchange.empty() ? amqp_empty_table : amqp_table_t{1, &dlx};
      amqp_queue_declare(s, kChannel, Bytes(o_.queue), 0, /*durable=*/1, 0, 0, args);
      REPRISE_RETURN_IF_ERROR(conn_->Check(amqp_get_rpc_reply(s), "declaring queue " + o_.queue));
      for (const std::string& key : o_.routing_keys) {
        amqp_queue_bind(s, kChannel, Bytes(o_.queue), Bytes(o_.exchange), Bytes(key), amqp_empty_table);
        REPRISE_RETURN_IF_ERROR(conn_->Check(amqp_get_rpc_reply(s), "binding queue " + o_.queue + " to exchange " +
                                                                        o_.exchange + " with key " + key));
      }
    }
    amqp_basic_qos(s, kChannel, 0, o_.prefetch, 0);
    REPRISE_RETURN_IF_ERROR(conn_->Check(amqp_get_rpc_reply(s), "setting prefetch"));
    amqp_basic_consume(s, kChannel, Bytes(o_.queue), amqp_empty_bytes, 0, /*no_ack=*/0, 0, amqp_empty_table);
    return conn_->Check(amqp_get_rpc_reply(s), "consuming queue " + o_.queue);
  }

  // Acks what is committed (bounded wait) and drops the connection.
  void FinishConnection(const Status& why) {
    if (conn_ && !conn_->broken() && !pending_.empty()) {
      (void)agent_.WaitCommitted(pending_.back().mark, o_.connection.connect_timeout);
      (void)SendAcks();
    }
    pending_.clear();
    unacked_.store(0);
    conn_.reset();
    SetConnected(false, why);
    // Records of deliveries not acked yet may still be queued: the broker
    // redelivers those, and their lookup must find them in the journal.
    (void)agent_.WaitCommitted(agent_.RecordedMark(), o_.connection.connect_timeout);
  }

  // True when another frame is ready to read now: the acks can wait for it.
  bool MoreReady() const {
    amqp_connection_state_t s = conn_->state();
    if (amqp_data_in_buffer(s) || amqp_frames_enqueued(s)) return true;
    pollfd p{amqp_socket_get_sockfd(amqp_get_socket(s)), POLLIN, 0};
    return poll(&p, 1, 0) > 0;
  }

  Status Consume() {
    amqp_connection_state_t s = conn_->state();
    while (!stopping()) {
      amqp_maybe_release_buffers(s);
      // While acks wait for the commit, the frame wait is short: the
      // committed mark is polled here, never slept on per message.
      const milliseconds wait = pending_.empty() ? milliseconds(100) : milliseconds(1);
      timeval tv{0, static_cast<suseconds_t>(wait.count() * 1000)};
      amqp_envelope_t envelope;
      amqp_rpc_reply_t r = amqp_consume_message(s, &envelope, &tv, 0);
      if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        Deliver(envelope);
        amqp_destroy_envelope(&envelope);
        if (pending_.size() < std::max<size_t>(1, o_.prefetch / 2) && MoreReady()) continue;
      } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        REPRISE_RETURN_IF_ERROR(OtherFrame());
      } else if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION || r.library_error != AMQP_STATUS_TIMEOUT) {
        return conn_->Check(r, "consuming queue " + o_.queue);
      }
      REPRISE_RETURN_IF_ERROR(SendAcks());
    }
    return Status::Ok();
  }

  // A frame that is not a delivery: the broker's notices and closes.
  Status OtherFrame() {
    amqp_frame_t frame;
    REPRISE_RETURN_IF_ERROR(conn_->NextFrame(&frame, std::chrono::milliseconds(0)));
    if (frame.frame_type != AMQP_FRAME_METHOD) return Status::Ok();
    switch (frame.payload.method.id) {
      case AMQP_CONNECTION_BLOCKED_METHOD:
        // Consuming goes on (acks are what frees the broker); counted.
        blocked_.fetch_add(1);
        return Status::Ok();
      case AMQP_CONNECTION_UNBLOCKED_METHOD: return Status::Ok();
      case AMQP_BASIC_CANCEL_METHOD:
        conn_->set_broken();
        return Unavailable("the broker cancelled the consumer of queue " + o_.queue + " (queue deleted?)");
      case AMQP_CHANNEL_CLOSE_METHOD:
      case AMQP_CONNECTION_CLOSE_METHOD: {
        amqp_rpc_reply_t r{};
        r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
        r.reply = frame.payload.method;
        return conn_->Check(r, "consuming queue " + o_.queue);
      }
      default: return Status::Ok();
    }
  }

  void Deliver(const amqp_envelope_t& e) {
    const amqp_basic_properties_t& p = e.message.properties;
    DeliverOptions d;
    auto has = [&](amqp_flags_t flag) { return (p._flags & flag) != 0; };
    if (has(AMQP_BASIC_HEADERS_FLAG)) {
      for (int i = 0; i < p.headers.num_entries; ++i) {
        if (auto v = FieldText(p.headers.entries[i].value)) d.headers[String(p.headers.entries[i].key)] = *v;
      }
    }
    if (has(AMQP_BASIC_MESSAGE_ID_FLAG)) {
      d.transport_id = String(p.message_id);
      d.headers["amqp-message-id"] = d.transport_id;
    }
    if (has(AMQP_BASIC_CORRELATION_ID_FLAG)) {
      d.correlation_id = String(p.correlation_id);
      d.headers["amqp-correlation-id"] = d.correlation_id;
    }
    if (has(AMQP_BASIC_CONTENT_TYPE_FLAG)) d.content_type = String(p.content_type);
    if (has(AMQP_BASIC_TIMESTAMP_FLAG)) d.headers["amqp-timestamp"] = std::to_string(p.timestamp);
    if (e.exchange.len > 0) d.headers["amqp-exchange"] = String(e.exchange);
    d.headers["amqp-routing-key"] = String(e.routing_key);
    d.redelivered = e.redelivered != 0;
    if (d.redelivered) redeliveries_.fetch_add(1);

    const std::string_view payload(static_cast<const char*>(e.message.body.bytes), e.message.body.len);
    std::string key;
    if (!o_.key_header.empty()) {
      if (auto it = d.headers.find(o_.key_header); it != d.headers.end()) key = it->second;
    }
    if (key.empty() && !o_.key_path.empty()) key = PayloadField(payload, o_.key_path).value_or("");

    DeliverResult r = agent_.Deliver(o_.channel, key, payload, std::move(d));
    delivered_.fetch_add(1);
    // A delivery the agent did not record (refused: oversize) cannot be
    // acked without losing it: it goes to the dead-letter exchange.
    const bool reject = r.id.empty() || (!r.status.ok() && o_.on_failed == FailedPolicy::kReject);
    pending_.push_back({e.delivery_tag, agent_.RecordedMark(), reject});
    unacked_.store(pending_.size());
  }

  // Acks (with `multiple`) and rejects, in delivery order, every pending
  // delivery whose records are committed.
  Status SendAcks() {
    if (pending_.empty()) return Status::Ok();
    const uint64_t committed = agent_.CommittedMark();
    amqp_connection_state_t s = conn_->state();
    uint64_t ack_upto = 0, acks = 0;
    auto flush = [&]() -> Status {
      if (ack_upto == 0) return Status::Ok();
      REPRISE_RETURN_IF_ERROR(conn_->CheckCode(amqp_basic_ack(s, kChannel, ack_upto, 1), "acking"));
      acked_.fetch_add(acks);
      ack_upto = acks = 0;
      return Status::Ok();
    };
    while (!pending_.empty() && pending_.front().mark <= committed) {
      const Pending p = pending_.front();
      if (p.reject) {
        REPRISE_RETURN_IF_ERROR(flush());
        REPRISE_RETURN_IF_ERROR(conn_->CheckCode(amqp_basic_reject(s, kChannel, p.tag, 0), "rejecting"));
        rejected_.fetch_add(1);
      } else {
        ack_upto = p.tag;
        ++acks;
      }
      pending_.pop_front();
    }
    REPRISE_RETURN_IF_ERROR(flush());
    unacked_.store(pending_.size());
    return Status::Ok();
  }

  Agent& agent_;
  const BindingOptions o_;
  const std::string endpoint_;
  std::thread thread_;

  // The consumer thread's own.
  std::unique_ptr<Connection> conn_;
  std::deque<Pending> pending_;  // delivery order

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stop_ = false;        // guarded by mu_
  bool connected_ = false;   // guarded by mu_
  std::string last_error_;   // guarded by mu_
  std::atomic<uint64_t> delivered_{0}, acked_{0}, rejected_{0}, unacked_{0}, redeliveries_{0}, reconnects_{0},
      blocked_{0};
};

}  // namespace

StatusOr<std::unique_ptr<Binding>> Binding::Start(Agent& agent, BindingOptions options) {
  if (options.queue.empty()) return InvalidArgument("amqp binding: name the queue to consume (queue)");
  if (options.channel.empty()) {
    return InvalidArgument("amqp binding of queue " + options.queue + ": name the agent's channel (channel)");
  }
  if (options.prefetch == 0) {
    return InvalidArgument("amqp binding of queue " + options.queue +
                           ": prefetch must be at least 1 (acks wait for the journal's commit)");
  }
  if (options.declare && !options.routing_keys.empty() && options.exchange.empty()) {
    return InvalidArgument("amqp binding of queue " + options.queue + ": routing_keys need an exchange to bind to");
  }
  // A bad URL is the host's mistake, not an outage: said now, not retried.
  if (options.connection.url.rfind("amqp://", 0) != 0 && options.connection.url.rfind("amqps://", 0) != 0) {
    return InvalidArgument("amqp binding of queue " + options.queue + ": URL \"" +
                           RedactedUrl(options.connection.url) + "\" does not start with amqp:// or amqps://");
  }
  if (options.name.empty()) options.name = "amqp:" + options.queue;
  auto b = std::make_unique<BindingImpl>(agent, std::move(options));
  b->Begin();
  return std::unique_ptr<Binding>(std::move(b));
}

}  // namespace reprise::amqp
