#include "reprise/amqp/sender.h"

#include <poll.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "connection.h"

namespace reprise::amqp {
namespace {

using Clock = std::chrono::steady_clock;

// One connection of the pool with its confirm bookkeeping. Used under its
// mutex only: rabbitmq-c connections are not thread-safe.
struct Slot {
  std::mutex mu;
  std::unique_ptr<Connection> conn;
  uint64_t published = 0;                // publishes on this channel since confirm.select
  Clock::time_point retry_after{};       // back-off after a failed connect
  std::unique_ptr<Backoff> backoff;
};

// The pool and counters: shared with the sender the agent holds, so that
// a Send after the Sender is gone fails instead of reaching freed memory.
class SenderCore {
 public:
  explicit SenderCore(SenderOptions o) : o_(std::move(o)), endpoint_(RedactedUrl(o_.connection.url)) {
    endpoint_ += " exchange \"" + o_.exchange + "\"";
    for (int i = 0; i < std::max(1, o_.connections); ++i) {
      slots_.push_back(std::make_unique<Slot>());
      slots_.back()->backoff = std::make_unique<Backoff>(o_.connection);
    }
  }

  void Stop() {
    stopped_.store(true);
    for (auto& s : slots_) {
      std::lock_guard lock(s->mu);
      s->conn.reset();
    }
  }

  Status Send(const Message& out) {
    if (stopped_.load()) return FailedPrecondition("not sent: the AMQP sender of " + o_.channel + " was stopped");
    sent_.fetch_add(1);
    // A free connection if there is one, else wait for one in turn.
    const size_t n = slots_.size();
    const size_t start = next_.fetch_add(1) % n;
    for (size_t k = 0; k < n; ++k) {
      Slot& s = *slots_[(start + k) % n];
      std::unique_lock lock(s.mu, std::try_to_lock);
      if (lock.owns_lock()) return Count(SendOn(s, out));
    }
    Slot& s = *slots_[start];
    std::lock_guard lock(s.mu);
    return Count(SendOn(s, out));
  }

  TransportStatus Stats() const {
    TransportStatus t{.kind = "amqp", .endpoint = endpoint_, .channel = o_.channel};
    t.connected = connected_.load() > 0;
    {
      std::lock_guard lock(error_mu_);
      t.last_error = last_error_;
    }
    t.counters = {{"sent", sent_.load()},       {"confirmed", confirmed_.load()}, {"failed", failed_.load()},
                  {"returned", returned_.load()}, {"nacked", nacked_.load()},       {"reconnects", reconnects_.load()},
                  {"blocked", blocked_.load()}};
    return t;
  }

 private:
  Status Count(Status st) {
    if (st.ok()) {
      confirmed_.fetch_add(1);
    } else {
      failed_.fetch_add(1);
      std::lock_guard lock(error_mu_);
      last_error_ = st.message();
    }
    return st;
  }

  Status Connect(Slot& s) {
    if (s.conn && !s.conn->broken()) return Status::Ok();
    if (s.conn) {
      s.conn.reset();
      connected_.fetch_sub(1);
      reconnects_.fetch_add(1);
    }
    if (Clock::now() < s.retry_after) {
      std::lock_guard lock(error_mu_);
      return Unavailable("the broker at " + endpoint_ + " is unreachable (" + last_error_ + "); retrying shortly");
    }
    // No heartbeats: rabbitmq-c answers them only while the connection is
    // used, and a sender may sit idle for long. A dead connection shows at
    // the next send (Drain) and a silent broker at confirm_timeout.
    ConnectionOptions options = o_.connection;
    options.heartbeat = std::chrono::seconds(0);
    auto c = Connection::Open(options);
    Status st = c.ok() ? Status::Ok() : c.status();
    if (st.ok()) {
      amqp_confirm_select(c.value()->state(), kChannel);
      st = c.value()->Check(amqp_get_rpc_reply(c.value()->state()), "selecting publisher confirms");
    }
    if (!st.ok()) {
      s.retry_after = Clock::now() + s.backoff->Next();
      std::lock_guard lock(error_mu_);
      last_error_ = st.message();
      return st;
    }
    s.backoff->Reset();
    s.conn = std::move(*c);
    s.published = 0;
    connected_.fetch_add(1);
    return Status::Ok();
  }

  // Handles what the broker sent while the connection was idle (a close, a
  // block) without waiting: a connection it closed is replaced before the
  // publish rather than failing it.
  void Drain(Slot& s) {
    while (s.conn && !s.conn->broken()) {
      amqp_connection_state_t st = s.conn->state();
      pollfd p{amqp_socket_get_sockfd(amqp_get_socket(st)), POLLIN, 0};
      if (!amqp_data_in_buffer(st) && !amqp_frames_enqueued(st) && poll(&p, 1, 0) <= 0) return;
      (void)ReadFrame(s, Clock::now() + std::chrono::milliseconds(100), nullptr);
    }
  }

  Status SendOn(Slot& s, const Message& out) {
    const std::string what = "not sent to exchange \"" + o_.exchange + "\"";
    Drain(s);
    Status st = Connect(s);
    if (!st.ok()) return st.WithPrefix(what);
    Connection& c = *s.conn;
    const Clock::time_point deadline = Clock::now() + o_.confirm_timeout;
    // connection.blocked: the broker reads nothing more from publishers
    // until it lifts; wait for that, bounded.
    while (c.blocked()) {
      REPRISE_RETURN_IF_ERROR(ReadFrame(s, deadline, nullptr).WithPrefix(what));
    }

    std::vector<amqp_table_entry_t> entries;
    Headers headers = out.headers;
    if (!out.origin_id.empty()) headers["reprise-origin"] = out.origin_id;
    if (!out.job_id.empty()) headers["reprise-job"] = out.job_id;
    for (const auto& [k, v] : headers) {
      amqp_table_entry_t e;
      e.key = Bytes(k);
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      e.value.value.bytes = Bytes(v);
      entries.push_back(e);
    }
    amqp_basic_properties_t p{};
    p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
               AMQP_BASIC_HEADERS_FLAG;
    p.delivery_mode = 2;  // persistent
    p.message_id = Bytes(out.id);
    p.timestamp = static_cast<uint64_t>(out.recorded_at_us / 1000000);
    p.headers = {static_cast<int>(entries.size()), entries.data()};
    if (!out.content_type.empty()) {
      p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
      p.content_type = Bytes(out.content_type);
    }
    if (!out.correlation_id.empty()) {
      p._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
      p.correlation_id = Bytes(out.correlation_id);
    }
    const std::string& routing_key = o_.routing_key.empty() ? out.channel : o_.routing_key;
    const int rc = amqp_basic_publish(c.state(), kChannel, Bytes(o_.exchange), Bytes(routing_key),
                                      /*mandatory=*/1, /*immediate=*/0, &p, Bytes(out.payload));
    REPRISE_RETURN_IF_ERROR(c.CheckCode(rc, "publishing").WithPrefix(what));
    const uint64_t tag = ++s.published;

    // Confirms come in order; a return (unroutable) comes before its ack.
    std::string returned;
    while (true) {
      Confirm confirm;
      REPRISE_RETURN_IF_ERROR(ReadFrame(s, deadline, &confirm).WithPrefix(what));
      if (!confirm.returned.empty()) {
        returned = confirm.returned;
        continue;
      }
      if (confirm.tag < tag && !confirm.multiple) continue;  // an earlier publish's
      if (confirm.nack) {
        nacked_.fetch_add(1);
        return Unavailable(what + ": the broker refused it (basic.nack); send it again later");
      }
      if (!returned.empty()) {
        returned_.fetch_add(1);
        return FailedPrecondition(what + " with routing key \"" + routing_key + "\": returned unroutable: " +
                                  returned);
      }
      return Status::Ok();
    }
  }

  struct Confirm {
    uint64_t tag = 0;
    bool multiple = false;
    bool nack = false;
    std::string returned;  // set for a basic.return: its reply code and text
  };

  // Reads frames until a confirm or a return (into `confirm`), or, with
  // none, until one frame was handled. Errors end the connection.
  Status ReadFrame(Slot& s, Clock::time_point deadline, Confirm* confirm) {
    Connection& c = *s.conn;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        c.set_broken();  // what the broker does with it is unknown now
        return DeadlineExceeded(c.blocked() ? "the broker blocked publishing (" + c.blocked_reason() +
                                                  ") for longer than confirm_timeout"
                                            : "no confirm from the broker within confirm_timeout");
      }
      amqp_frame_t f;
      Status st = c.NextFrame(&f, left);
      if (st.code() == StatusCode::kDeadlineExceeded) continue;
      REPRISE_RETURN_IF_ERROR(st);
      if (f.frame_type != AMQP_FRAME_METHOD) continue;
      switch (f.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
          auto* a = static_cast<amqp_basic_ack_t*>(f.payload.method.decoded);
          if (confirm) *confirm = {a->delivery_tag, a->multiple != 0, false, ""};
          if (confirm) return Status::Ok();
          break;
        }
        case AMQP_BASIC_NACK_METHOD: {
          auto* a = static_cast<amqp_basic_nack_t*>(f.payload.method.decoded);
          if (confirm) *confirm = {a->delivery_tag, a->multiple != 0, true, ""};
          if (confirm) return Status::Ok();
          break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
          auto* r = static_cast<amqp_basic_return_t*>(f.payload.method.decoded);
          std::string text = std::to_string(r->reply_code) + " " + String(r->reply_text);
          amqp_message_t m;
          REPRISE_RETURN_IF_ERROR(c.Check(amqp_read_message(c.state(), kChannel, &m, 0), "reading a return"));
          amqp_destroy_message(&m);
          if (confirm) {
            confirm->returned = text;
            return Status::Ok();
          }
          break;
        }
        case AMQP_CONNECTION_BLOCKED_METHOD: {
          auto* b = static_cast<amqp_connection_blocked_t*>(f.payload.method.decoded);
          c.set_blocked(true, String(b->reason));
          blocked_.fetch_add(1);
          break;
        }
        case AMQP_CONNECTION_UNBLOCKED_METHOD: c.set_blocked(false, ""); break;
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD: {
          amqp_rpc_reply_t r{};
          r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
          r.reply = f.payload.method;
          return c.Check(r, "publishing");
        }
        default: break;
      }
      if (!confirm) return Status::Ok();
    }
  }

  const SenderOptions o_;
  std::string endpoint_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<int> connected_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
  std::atomic<uint64_t> sent_{0}, confirmed_{0}, failed_{0}, returned_{0}, nacked_{0}, reconnects_{0}, blocked_{0};
};

class SenderImpl final : public Sender {
 public:
  SenderImpl(Agent& agent, std::shared_ptr<SenderCore> core, std::string name)
      : agent_(agent), core_(std::move(core)), name_(std::move(name)) {}
  ~SenderImpl() override {
    agent_.RemoveTransport(name_);
    core_->Stop();
  }
  Status Send(const Message& out) override { return core_->Send(out); }
  TransportStatus Stats() const override { return core_->Stats(); }

 private:
  Agent& agent_;
  std::shared_ptr<SenderCore> core_;
  const std::string name_;
};

}  // namespace

StatusOr<std::unique_ptr<Sender>> Sender::Start(Agent& agent, SenderOptions options) {
  if (options.channel.empty()) return InvalidArgument("amqp sender: name the agent's channel it sends (channel)");
  if (options.connection.url.rfind("amqp://", 0) != 0 && options.connection.url.rfind("amqps://", 0) != 0) {
    return InvalidArgument("amqp sender of " + options.channel + ": URL \"" + RedactedUrl(options.connection.url) +
                           "\" does not start with amqp:// or amqps://");
  }
  if (options.name.empty()) options.name = "amqp-out:" + options.channel;
  const std::string name = options.name;
  const std::string channel = options.channel;
  auto core = std::make_shared<SenderCore>(std::move(options));
  agent.Send(channel, [core](const Message& out) { return core->Send(out); });
  agent.AddTransport(name, [core] { return core->Stats(); });
  return std::unique_ptr<Sender>(new SenderImpl(agent, std::move(core), name));
}

}  // namespace reprise::amqp
