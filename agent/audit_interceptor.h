// Audits every call to a method the API declares MUTATE (the `access` option
// in agent.proto): who, when, the request and the result, appended to the
// journal's audit trail. One place for every mutating method, present and
// future, so none can be forgotten.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <string>

#include "reprise/store/audit.h"

namespace reprise {

class AuditInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  AuditInterceptorFactory(AuditStore* audit, std::string instance)
      : audit_(audit), instance_(std::move(instance)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  AuditStore* const audit_;
  const std::string instance_;
};

// True when the API declares `method` ("/reprise.v1.Agent/StartReflow") MUTATE.
bool IsMutating(const std::string& method);

}  // namespace reprise
