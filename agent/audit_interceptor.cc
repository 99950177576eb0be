#include "audit_interceptor.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/server_context.h>


namespace reprise {
namespace {

// Bytes of a refused call's request kept in its audit record.
constexpr size_t kMaxRefusedRequest = 1024;

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(grpc::experimental::ServerRpcInfo* info, AuditStore* audit,
                   const Gatekeeper* gatekeeper, const std::string& instance, const Logger* log,
                   const google::protobuf::MethodDescriptor& method)
      : info_(info),
        audit_(audit),
        gatekeeper_(gatekeeper),
        instance_(instance),
        log_(log),
        method_(method) {
    record_.action = method.name();
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
      if (Audited(method_, st.error_code())) Append(st);
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
    log_->Log(LogLevel::kInfo, "api",
              record_.action + " by " + record_.who + ": " + record_.result);
    auto id = audit_->Append(record_);
    if (!id.ok()) {
      // The action already happened; losing its audit record is reported
      // loudly rather than failing the call after the fact.
      log_->Log(LogLevel::kError, "api",
                "could not audit " + record_.action + " by " + record_.who + ": " +
                    id.status().ToString());
    }
  }

  grpc::experimental::ServerRpcInfo* const info_;
  AuditStore* const audit_;
  const Gatekeeper* const gatekeeper_;
  const std::string& instance_;
  const Logger* const log_;
  const google::protobuf::MethodDescriptor& method_;
  AuditRecord record_;
};

}  // namespace

bool Audited(const google::protobuf::MethodDescriptor& method, grpc::StatusCode code) {
  return Mutates(method) || code == grpc::StatusCode::UNAUTHENTICATED ||
         code == grpc::StatusCode::PERMISSION_DENIED;
}

grpc::experimental::Interceptor* AuditInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  // Other services (health, reflection) are neither gated nor audited; nor
  // is a name the Agent service lacks, which gRPC answers UNIMPLEMENTED
  // without running anything.
  const auto* method = FindAgentMethod(info->method());
  if (method == nullptr) return nullptr;
  return new AuditInterceptor(info, audit_, gatekeeper_, instance_, log_, *method);
}

}  // namespace reprise
