#include "api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <climits>

#include "audit_interceptor.h"
#include "server_security.h"

namespace reprise {

StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(AgentCore* core) {
  const AgentOptions& options = core->options();
  std::unique_ptr<ApiServer> api(new ApiServer());
  REPRISE_ASSIGN_OR_RETURN(auto credentials, ServerCredentialsFor(options));
  Gatekeeper::Options access{.mutating_calls_per_minute = options.mutating_calls_per_minute};
  if (!options.token_file.empty()) {
    REPRISE_ASSIGN_OR_RETURN(auto tokens, LoadTokenFile(options.token_file));
    access.tokens = std::move(tokens);
  }
  api->gatekeeper_ = std::make_unique<Gatekeeper>(std::move(access));
  api->service_ = std::make_unique<ApiService>(core, api->gatekeeper_.get());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  builder.RegisterService(api->service_.get());
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(options.max_request_bytes, INT32_MAX)));
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<AuditInterceptorFactory>(
      &core->journal().audit(), api->gatekeeper_.get(), core->instance(), &core->log()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  api->server_ = builder.BuildAndStart();
  if (!api->server_ || port == 0) {
    return Unavailable("cannot listen on " + options.listen +
                       ": address in use or not valid; pick another with listen/--listen");
  }
  // Health by service name too, so that probes can ask for "reprise.v1.Agent".
  if (auto* health = api->server_->GetHealthCheckService()) {
    health->SetServingStatus(v1::Agent::service_full_name(), true);
  }
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  api->listen_address_ = host + ":" + std::to_string(port);
  return api;
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(v1::Agent::service_full_name(), serving);
  }
}

void ApiServer::Shutdown() {
  if (!server_ || shut_down_) return;
  shut_down_ = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace reprise
