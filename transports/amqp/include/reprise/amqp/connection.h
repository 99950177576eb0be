// How reprise_amqp reaches a RabbitMQ broker: shared by bindings (inbound)
// and senders (outbound). See docs/transports.md.
#pragma once

#include <chrono>
#include <string>

#include "reprise/base/export.h"

namespace reprise::amqp {

struct ConnectionOptions {
  // amqp://USER:PASSWORD@HOST:PORT/VHOST, or amqps:// for TLS (port 5671 by
  // default). Credentials default to guest:guest, the vhost to "/" (also
  // when the path is empty: "amqp://host:5672/").
  std::string url = "amqp://127.0.0.1:5672/";
  // amqps: the CA certificate (PEM file) the broker's certificate must be
  // signed by; the broker's name is checked too. Without it, amqps:// is
  // refused unless tls_verify is false (encrypted, not authenticated).
  std::string tls_ca_cert;
  bool tls_verify = true;
  // amqps with client certificates: PEM files of the certificate and its key.
  std::string tls_cert;
  std::string tls_key;
  // Bounds on every network wait: connecting and logging in, and each
  // broker reply.
  std::chrono::milliseconds connect_timeout{5000};
  // After a lost connection: first retry after reconnect_min, doubling up to
  // reconnect_max while the broker stays away.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // AMQP heartbeat: a silent broker is given up after about twice this.
  std::chrono::seconds heartbeat{10};
};

// `url` without its password, for logs and Describe.
REPRISE_EXPORT std::string RedactedUrl(const std::string& url);

}  // namespace reprise::amqp
