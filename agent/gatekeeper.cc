#include "gatekeeper.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "reprise/base/hex.h"

namespace reprise {
namespace {

constexpr std::string_view kBearer = "Bearer ";

bool ValidName(std::string_view name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
         });
}

bool IsHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// gRPC's peer without its port ("ipv4:10.0.0.7:53211" -> "ipv4:10.0.0.7",
// "ipv6:[::1]:53211" -> "ipv6:[::1]"): a caller is a host, not one
// connection, so reconnecting does not reset its rate limit.
std::string PeerHost(const std::string& peer) {
  if (peer.rfind("ipv4:", 0) != 0 && peer.rfind("ipv6:", 0) != 0) return peer;
  size_t colon = peer.rfind(':');
  if (colon <= 4 || peer.find_first_not_of("0123456789", colon + 1) != std::string::npos) return peer;
  if (peer.rfind("ipv6:", 0) == 0 && peer[colon - 1] != ']') return peer;
  return peer.substr(0, colon);
}

// With mutual TLS, the client certificate's identity (its SAN or CN).
std::string CertificateIdentity(const grpc::ServerContextBase& ctx) {
  auto auth = ctx.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  auto ids = auth->GetPeerIdentity();
  if (ids.empty()) return "";
  return "cert:" + std::string(ids.front().data(), ids.front().size());
}

}  // namespace

std::string_view RoleName(Role role) { return role == Role::kOperator ? "operator" : "viewer"; }

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

StatusOr<std::vector<TokenEntry>> LoadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return FailedPrecondition("cannot read the token file " + path +
                              "; check the path and its permissions (token_file / --token-file)");
  }
  std::vector<TokenEntry> out;
  std::set<std::string, std::less<>> names, hashes;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::istringstream fields(line);
    std::string name, role, hash, extra;
    if (!(fields >> name) || name[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return InvalidArgument(path + ":" + std::to_string(n) + ": " + why +
                             "; expected \"NAME ROLE sha256:HEX\" (`reprise token new NAME ROLE` "
                             "prints such a line)");
    };
    if (!(fields >> role >> hash) || (fields >> extra)) return bad("not three fields");
    if (!ValidName(name)) return bad("bad name \"" + name + "\" (letters, digits, . _ - @)");
    TokenEntry e{.name = name};
    if (role == "viewer") {
      e.role = Role::kViewer;
    } else if (role == "operator") {
      e.role = Role::kOperator;
    } else {
      return bad("unknown role \"" + role + "\" (viewer or operator)");
    }
    if (hash.rfind("sha256:", 0) != 0 || !IsHex64(hash.substr(7))) {
      return bad("the hash must be sha256: and 64 lowercase hex digits");
    }
    e.sha256_hex = hash.substr(7);
    if (!names.insert(e.name).second) return bad("the name " + name + " is used twice");
    if (!hashes.insert(e.sha256_hex).second) return bad("the same token is listed twice");
    out.push_back(std::move(e));
  }
  if (out.empty()) {
    return InvalidArgument("the token file " + path +
                           " lists no tokens; nobody could call the agent. Add one with "
                           "`reprise token new NAME ROLE`");
  }
  return out;
}

Gatekeeper::Gatekeeper(Options options) : options_(std::move(options)) {
  for (const TokenEntry& e : options_.tokens) by_hash_[e.sha256_hex] = &e;
}

Caller Gatekeeper::Identify(const grpc::ServerContextBase& ctx) const {
  Caller caller;
  std::string cert = CertificateIdentity(ctx);
  std::string from = cert.empty() ? PeerHost(ctx.peer()) : cert;
  if (!tokens_required()) {
    caller.who = from;
    return caller;
  }
  const auto& metadata = ctx.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    caller.who = "anonymous@" + from;
    caller.refused = Status(StatusCode::kUnauthenticated,
                            "this agent requires a token: give the console --token-file FILE or "
                            "$REPRISE_TOKEN (API: metadata \"authorization: Bearer TOKEN\")");
    return caller;
  }
  std::string_view value(it->second.data(), it->second.size());
  auto found = value.rfind(kBearer, 0) == 0 ? by_hash_.find(Sha256Hex(value.substr(kBearer.size())))
                                            : by_hash_.end();
  if (found == by_hash_.end()) {
    caller.who = "unknown-token@" + from;
    caller.refused = Status(StatusCode::kUnauthenticated,
                            "the token is not in the agent's token file (mistyped or revoked); "
                            "ask an operator for one (`reprise token new`)");
    return caller;
  }
  caller.who = found->second->name;
  caller.role = found->second->role;
  return caller;
}

Status Gatekeeper::Admit(const grpc::ServerContextBase& ctx,
                         const google::protobuf::MethodDescriptor& method) {
  Caller caller = Identify(ctx);
  if (!caller.refused.ok()) return caller.refused;
  if (!Mutates(method)) return Status::Ok();
  if (caller.role != Role::kOperator) {
    return Status(StatusCode::kPermissionDenied,
                  method.name() + " changes things and needs an operator token; " + caller.who +
                      " is a " + std::string(RoleName(caller.role)));
  }
  return CheckRate(caller.who, method.name());
}

Status Gatekeeper::CheckRate(const std::string& who, std::string_view method) {
  const uint32_t limit = options_.mutating_calls_per_minute;
  if (limit == 0) return Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  const auto window = std::chrono::minutes(1);
  std::lock_guard<std::mutex> lock(rate_mu_);
  // Forget callers idle for a minute, so the map stays as small as the set
  // of recent callers.
  for (auto it = recent_.begin(); it != recent_.end();) {
    if (!it->second.empty() && now - it->second.back() >= window) {
      it = recent_.erase(it);
    } else {
      ++it;
    }
  }
  auto& times = recent_[who];
  times.erase(times.begin(), std::find_if(times.begin(), times.end(),
                                          [&](auto t) { return now - t < window; }));
  if (times.size() >= limit) {
    auto wait = std::chrono::duration_cast<std::chrono::seconds>(times.front() + window - now);
    return ResourceExhausted(std::string(method) + " refused: " + who + " made " +
                             std::to_string(limit) +
                             " mutating calls in the last minute, the limit "
                             "(mutating_calls_per_minute); retry in " +
                             std::to_string(wait.count() + 1) + "s");
  }
  times.push_back(now);
  return Status::Ok();
}

const google::protobuf::MethodDescriptor* FindAgentMethod(std::string_view path) {
  // "/reprise.v1.Agent/StartReflow" -> "StartReflow"
  const google::protobuf::ServiceDescriptor& service = AgentServiceDescriptor();
  const std::string prefix = "/" + service.full_name() + "/";
  if (path.substr(0, prefix.size()) != prefix) return nullptr;
  return service.FindMethodByName(std::string(path.substr(prefix.size())));
}

bool IsMutating(const std::string& method) {
  const auto* descriptor = FindAgentMethod(method);
  return descriptor != nullptr && Mutates(*descriptor);
}

}  // namespace reprise
