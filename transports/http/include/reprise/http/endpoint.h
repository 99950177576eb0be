// An HTTP endpoint that feeds the agent: `POST /channels/NAME` records the
// request body as an inbound message of channel NAME, runs its handler
// (Agent::Deliver), and answers once the record is committed to the journal.
//
//   auto endpoint = reprise::http::Endpoint::Start(*agent, {
//       .listen = "127.0.0.1:8080",
//       .channels = {{.name = "payments.received", .key_path = "account"}}});
//
// The answer (docs/transports.md#http):
//   200  handled ok, committed            404  no such channel (did you mean ...)
//   400  bad JSON, no key                 413  body over max_body_bytes
//   500  the handler failed (committed: the journal keeps it for reflow)
//   503  not committed within commit_timeout, or not recorded: retry later
// Every answer to a recorded request carries its id in `Reprise-Record-Id`.
//
// Thread-safe; requests are served by a pool of `threads` threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reprise/agent/agent.h"
#include "reprise/base/export.h"
#include "reprise/base/status.h"
#include "reprise/http/headers.h"

namespace reprise::http {

// One agent channel served at POST /channels/NAME.
struct HttpChannel {
  std::string name;
  // Where the message's key comes from: a request header, or a field of the
  // JSON body ("account", "payer.account": dotted as in the filter language's
  // payload.PATH). Exactly one of them.
  std::string key_header;
  std::string key_path;
  // The body must be JSON (400 otherwise). Implied by key_path.
  bool json = false;
};

struct EndpointOptions {
  // host:port; port 0 picks a free one (see Endpoint::listen_address()).
  std::string listen = "127.0.0.1:0";
  std::vector<HttpChannel> channels;
  size_t max_body_bytes = 1u << 20;  // larger bodies get 413
  size_t threads = 8;                // requests served at once
  // How long an answer waits for the journal to commit the request's
  // records before it gives up with 503.
  std::chrono::milliseconds commit_timeout{5000};
  // A client that sends nothing for this long is disconnected.
  std::chrono::milliseconds read_timeout{5000};
};

// Counters for monitoring, by the answer's status class.
struct EndpointStats {
  uint64_t requests = 0;
  uint64_t answered_2xx = 0;
  uint64_t answered_4xx = 0;
  uint64_t answered_5xx = 0;
  uint64_t commit_timeouts = 0;  // 503s because the journal did not commit in time
  // The latest 4xx or 5xx answer: "503 POST /channels/x: ...". "" when none.
  std::string last_error;
  std::chrono::system_clock::time_point last_error_at{};
};

class REPRISE_EXPORT Endpoint {
 public:
  // Binds the listen address and starts serving. `agent` must outlive the
  // endpoint. INVALID_ARGUMENT for a bad option (with what to change),
  // UNAVAILABLE when the address cannot be bound.
  static StatusOr<std::unique_ptr<Endpoint>> Start(Agent& agent, EndpointOptions options);
  // Stops listening; requests in flight finish first.
  virtual ~Endpoint() = default;

  // "127.0.0.1:8080": the bound address, with the port picked for port 0.
  virtual std::string listen_address() const = 0;
  virtual EndpointStats Stats() const = 0;
};

}  // namespace reprise::http
