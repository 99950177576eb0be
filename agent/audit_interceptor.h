// Audits every call to a method that mutates (the `access` option in
// agent.proto, read by reprise/v1/access.h's Mutates), and every refused call
// (UNAUTHENTICATED, PERMISSION_DENIED) of any method: who (as the Gatekeeper names the caller), when, the request
// and the result, appended to the journal's audit trail. One place for every
// method, present and future, so none can be forgotten.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <string>

#include "gatekeeper.h"
#include "logger.h"
#include "reprise/store/audit.h"

namespace reprise {

// Whether a call of `method` that ends with `code` goes into the audit trail:
// every call of a method that Mutates() (as the gatekeeper decides it), and
// every refused call.
bool Audited(const google::protobuf::MethodDescriptor& method, grpc::StatusCode code);

class AuditInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // Each audited call is also logged, at info.
  AuditInterceptorFactory(AuditStore* audit, const Gatekeeper* gatekeeper, std::string instance,
                          const Logger* log)
      : audit_(audit), gatekeeper_(gatekeeper), instance_(std::move(instance)), log_(log) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  AuditStore* const audit_;
  const Gatekeeper* const gatekeeper_;
  const std::string instance_;
  const Logger* const log_;
};

}  // namespace reprise
