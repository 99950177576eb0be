#include "audit_interceptor.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/server_context.h>

#include <cstdio>

#include "reprise/v1/agent.grpc.pb.h"

namespace reprise {
namespace {

// Bytes of a refused call's request kept in its audit record.
constexpr size_t kMaxRefusedRequest = 1024;

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(grpc::experimental::ServerRpcInfo* info, AuditStore* audit,
                   const Gatekeeper* gatekeeper, const std::string& instance, bool mutating)
      : info_(info), audit_(audit), gatekeeper_(gatekeeper), instance_(instance),
        mutating_(mutating) {
    record_.action = info->method();
    size_t slash = record_.action.rfind('/');
    if (slash != std::string::npos) record_.action = record_.action.substr(slash + 1);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      // All requests of the Reprise API are protobuf messages.
      auto* request = static_cast<const google::protobuf::Message*>(methods->GetRecvMessage());
      if (request != nullptr) {
        google::protobuf::util::JsonPrintOptions options;
        options.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(*request, &record_.request, options);
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status st = methods->GetSendStatus();
      const bool refused = st.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                           st.error_code() == grpc::StatusCode::PERMISSION_DENIED;
      if (mutating_ || refused) Append(st);
    }
    methods->Proceed();
  }

 private:
  void Append(const grpc::Status& st) {
    const auto* ctx = info_->server_context();
    record_.who = ctx ? gatekeeper_->Identify(*ctx).who : "unknown";
    record_.code = static_cast<StatusCode>(st.error_code());
    record_.result = st.ok() ? "OK"
                             : std::string(StatusCodeName(record_.code)) + ": " + st.error_message();
    record_.instance = instance_;
    if (record_.request.empty()) record_.request = "{}";
    // Anyone who reaches the port can be refused, as often as they like:
    // keep enough of their request to see what they tried, not all of it.
    if ((record_.code == StatusCode::kUnauthenticated ||
         record_.code == StatusCode::kPermissionDenied) &&
        record_.request.size() > kMaxRefusedRequest) {
      record_.request.resize(kMaxRefusedRequest);
      record_.request += "... (cut)";
    }
    auto id = audit_->Append(record_);
    if (!id.ok()) {
      // The action already happened; losing its audit record is reported
      // loudly rather than failing the call after the fact.
      std::fprintf(stderr, "reprise: could not audit %s by %s: %s\n", record_.action.c_str(),
                   record_.who.c_str(), id.status().ToString().c_str());
    }
  }

  grpc::experimental::ServerRpcInfo* const info_;
  AuditStore* const audit_;
  const Gatekeeper* const gatekeeper_;
  const std::string& instance_;
  const bool mutating_;
  AuditRecord record_;
};

}  // namespace

grpc::experimental::Interceptor* AuditInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Other services (health, reflection) are neither gated nor audited.
  const std::string prefix = "/" + std::string(v1::Agent::service_full_name()) + "/";
  if (std::string(info->method()).rfind(prefix, 0) != 0) return nullptr;
  return new AuditInterceptor(info, audit_, gatekeeper_, instance_, IsMutating(info->method()));
}

}  // namespace reprise
