#include "audit_interceptor.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/server_context.h>

#include <cstdio>

#include "reprise/v1/agent.pb.h"

namespace reprise {
namespace {

// The caller's identity. Until tokens carry names, the peer address.
std::string Who(grpc::ServerContextBase* ctx) {
  return ctx ? ctx->peer() : "unknown";
}

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(grpc::experimental::ServerRpcInfo* info, AuditStore* audit,
                   const std::string& instance)
      : info_(info), audit_(audit), instance_(instance) {
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
      record_.who = Who(info_->server_context());
      record_.code = static_cast<StatusCode>(st.error_code());
      record_.result = st.ok() ? "OK"
                               : std::string(StatusCodeName(record_.code)) + ": " + st.error_message();
      record_.instance = instance_;
      if (record_.request.empty()) record_.request = "{}";
      auto id = audit_->Append(record_);
      if (!id.ok()) {
        // The action already happened; losing its audit record is reported
        // loudly rather than failing the call after the fact.
        std::fprintf(stderr, "reprise: could not audit %s by %s: %s\n", record_.action.c_str(),
                     record_.who.c_str(), id.status().ToString().c_str());
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* const info_;
  AuditStore* const audit_;
  const std::string& instance_;
  AuditRecord record_;
};

}  // namespace

bool IsMutating(const std::string& method) {
  // "/reprise.v1.Agent/StartReflow" -> "reprise.v1.Agent.StartReflow"
  if (method.size() < 2 || method[0] != '/') return false;
  std::string full = method.substr(1);
  size_t slash = full.find('/');
  if (slash == std::string::npos) return false;
  full[slash] = '.';
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full);
  return descriptor != nullptr && descriptor->options().GetExtension(v1::access) == v1::MUTATE;
}

grpc::experimental::Interceptor* AuditInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  if (!IsMutating(info->method())) return nullptr;
  return new AuditInterceptor(info, audit_, instance_);
}

}  // namespace reprise
