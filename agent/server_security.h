// How the API server is exposed: its transport credentials (plaintext, TLS
// or mutual TLS) and the refusal to listen beyond loopback unprotected.
// See docs/security.md. Internal to agent/.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "reprise/agent/agent.h"

namespace reprise {

// True for 127.x.x.x, localhost, [::1] and unix: addresses.
bool IsLoopback(std::string_view listen);

// FAILED_PRECONDITION, in one line, when `options` would listen beyond
// loopback without TLS and tokens and `insecure` is not set; INVALID_ARGUMENT
// for an incomplete TLS set-up (a certificate without its key, ...).
Status CheckListenSecurity(const AgentOptions& options);

// Plaintext without tls_cert; TLS with it; mutual TLS with tls_client_ca.
// Reads and checks the PEM files (the key matches the certificate), so a
// mistake is reported by name rather than as "cannot listen".
StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(const AgentOptions& options);

}  // namespace reprise
