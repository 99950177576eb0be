// One rabbitmq-c connection with one open channel: opening it from
// ConnectionOptions, and rabbitmq-c's error codes and replies as Status.
// Internal to reprise_amqp.
#pragma once

#include <amqp.h>

#include <chrono>
#include <memory>
#include <string>

#include "reprise/amqp/connection.h"
#include "reprise/base/status.h"

namespace reprise::amqp {

inline constexpr amqp_channel_t kChannel = 1;

inline amqp_bytes_t Bytes(const std::string& s) { return {s.size(), const_cast<char*>(s.data())}; }
inline std::string String(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

// Not thread-safe: one thread at a time (rabbitmq-c's rule for a connection).
class Connection {
 public:
  // Connects, logs in (announcing connection.blocked support) and opens
  // channel kChannel; every wait bounded by options.connect_timeout.
  static StatusOr<std::unique_ptr<Connection>> Open(const ConnectionOptions& options);
  ~Connection();  // closes the channel and the connection, bounded
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  amqp_connection_state_t state() const { return state_; }
  // An RPC's reply as a Status naming `what`; marks the connection broken
  // when the broker closed it or the socket failed.
  Status Check(amqp_rpc_reply_t reply, const std::string& what);
  // A library call's return code (AMQP_STATUS_*) as a Status naming `what`.
  Status CheckCode(int code, const std::string& what);
  // Whether the connection can still be used.
  bool broken() const { return broken_; }
  void set_broken() { broken_ = true; }
  // The broker's connection.blocked / unblocked notifications, as seen by
  // whoever reads the frames.
  bool blocked() const { return blocked_; }
  void set_blocked(bool b, std::string reason) {
    blocked_ = b;
    blocked_reason_ = std::move(reason);
  }
  const std::string& blocked_reason() const { return blocked_reason_; }

  // Waits at most `timeout` for the next frame on any channel.
  // DEADLINE_EXCEEDED when none came; UNAVAILABLE when the connection failed.
  Status NextFrame(amqp_frame_t* frame, std::chrono::microseconds timeout);

 private:
  explicit Connection(amqp_connection_state_t state) : state_(state) {}
  amqp_connection_state_t state_;
  bool broken_ = false;
  bool blocked_ = false;
  std::string blocked_reason_;
};

// Reconnect back-off: reconnect_min, doubling to reconnect_max.
class Backoff {
 public:
  explicit Backoff(const ConnectionOptions& o) : min_(o.reconnect_min), max_(o.reconnect_max), next_(min_) {}
  std::chrono::milliseconds Next() {
    const auto d = next_;
    next_ = std::min(max_, next_ * 2);
    return d;
  }
  void Reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, next_;
};

}  // namespace reprise::amqp
