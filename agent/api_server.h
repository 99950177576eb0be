// The API server: the reprise.v1.Agent service over gRPC, with the standard
// health service and server reflection, behind the agent's security: its
// transport credentials, the gatekeeper (tokens, roles, the rate limit) and
// the audit trail. Internal to agent/.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "agent_core.h"
#include "api_service.h"
#include "gatekeeper.h"

namespace reprise {

// Thread-safe: gRPC serves calls on its own threads; nothing here changes
// once started but the health status, until Shutdown, which the owner calls
// once as it stops.
class ApiServer {
 public:
  // Serves `core` on core->options().listen. `core` must outlive the server.
  static StatusOr<std::unique_ptr<ApiServer>> Start(AgentCore* core);
  ~ApiServer();  // shuts down if not done yet
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Stops serving: calls in flight get two seconds, then are cancelled.
  void Shutdown();
  // What grpc.health.v1 says of the reprise.v1.Agent service: SERVING or
  // NOT_SERVING (the journal is failing). The server as a whole ("")
  // stays SERVING while it runs: reads still work.
  void SetServing(bool serving);
  // The address listened on, with the port picked when `listen` asked for 0.
  const std::string& listen_address() const { return listen_address_; }

 private:
  ApiServer() = default;

  std::unique_ptr<Gatekeeper> gatekeeper_;  // used by service_ and server_'s interceptors
  std::unique_ptr<ApiService> service_;
  std::unique_ptr<grpc::Server> server_;
  bool shut_down_ = false;
  std::string listen_address_;
};

}  // namespace reprise
