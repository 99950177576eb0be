// Who may call what: bearer tokens from a token file (stored hashed), roles
// taken from the `access` option of each method in agent.proto (viewer: the
// methods that do not mutate, reprise/v1/access.h; operator: all), and a rate limit on mutating calls per caller.
// See docs/security.md. Internal to agent/.
#pragma once

#include <grpcpp/server_context.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/status.h"
#include "reprise/v1/access.h"

namespace reprise {

enum class Role { kViewer, kOperator };
std::string_view RoleName(Role role);

// One line of a token file: "NAME ROLE sha256:HEX".
struct TokenEntry {
  std::string name;
  Role role = Role::kViewer;
  std::string sha256_hex;  // of the token itself
};

// Reads a token file: one token per line, "NAME ROLE sha256:HEX"; blank
// lines and lines starting with # are ignored. Errors name the line.
StatusOr<std::vector<TokenEntry>> LoadTokenFile(const std::string& path);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// The caller of one RPC as far as access control is concerned.
struct Caller {
  std::string who;  // the token's name, else the client certificate's, else the peer
  Role role = Role::kOperator;
  Status refused;   // UNAUTHENTICATED when the call carries no valid token
};

class Gatekeeper {
 public:
  struct Options {
    // Empty: no tokens required (every caller is an operator).
    std::vector<TokenEntry> tokens;
    // Mutating calls per caller per minute; 0: no limit.
    uint32_t mutating_calls_per_minute = 0;
  };
  explicit Gatekeeper(Options options);

  bool tokens_required() const { return !by_hash_.empty(); }

  // Who is calling (from the "authorization: Bearer TOKEN" metadata). Cheap
  // and deterministic, so the audit trail and the handler agree.
  Caller Identify(const grpc::ServerContextBase& ctx) const;

  // Whether the call of `method` (of agent.proto's Agent service) may go on:
  // UNAUTHENTICATED without a valid token, PERMISSION_DENIED for a viewer
  // calling a method that Mutates() (reprise/v1/access.h), RESOURCE_EXHAUSTED
  // over the rate limit.
  Status Admit(const grpc::ServerContextBase& ctx,
               const google::protobuf::MethodDescriptor& method);

 private:
  Status CheckRate(const std::string& who, std::string_view method);

  const Options options_;
  std::map<std::string, const TokenEntry*, std::less<>> by_hash_;
  std::mutex rate_mu_;
  // caller -> start times of its mutating calls in the last minute; guarded by rate_mu_
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> recent_;
};

// The method of the Agent service at the gRPC path `path`
// ("/reprise.v1.Agent/StartReflow"); nullptr for other services' (health,
// reflection) and for names the service does not have.
const google::protobuf::MethodDescriptor* FindAgentMethod(std::string_view path);

// True when `method` ("/reprise.v1.Agent/StartReflow") is a method of the
// Agent service that Mutates(); false for methods of other services.
bool IsMutating(const std::string& method);

}  // namespace reprise
