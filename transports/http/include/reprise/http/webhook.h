// A sender that POSTs outbound messages to a webhook:
//
//   auto notify = reprise::http::WebhookSender({.url = "http://127.0.0.1:9000/notify"});
//   if (!notify.ok()) return notify.status();
//   agent->Send("balance.updated", *notify);
//
// Each call POSTs the payload with its content type and the message's
// headers, plus `Reprise-Record-Id` (the outbound record's id) and, on a
// reflowed copy, `Reprise-Origin` (the message it copies) and `Reprise-Job`.
// The outcome comes from the answer: 2xx is ok; any other status fails the
// call with the status line and the start of the body; so do a connection
// error and a timeout. A failed call is a reflow candidate.
//
// Thread-safe: reflow jobs send from several threads; each call borrows a
// connection from a small pool.
#pragma once

#include <chrono>
#include <string>

#include "reprise/agent/agent.h"
#include "reprise/base/export.h"
#include "reprise/base/status.h"
#include "reprise/http/headers.h"

namespace reprise::http {

struct WebhookOptions {
  // http://host[:port][/path] or https://host[:port][/path].
  std::string url;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds timeout{10000};  // reading the answer, writing the request
  // Added to every call (an Authorization header, say).
  Headers headers;
  // https: the CA certificates (PEM file) that the server's certificate must
  // chain to; empty: the system's. Servers are always verified.
  std::string ca_file;
  // At most this many bytes of an error answer's body go into the error.
  size_t max_error_body = 256;
  // Idle connections kept for reuse.
  size_t max_idle_connections = 8;
};

// A Sender for Agent::Send. INVALID_ARGUMENT for a URL it cannot use.
REPRISE_EXPORT StatusOr<Sender> WebhookSender(WebhookOptions options);

}  // namespace reprise::http
