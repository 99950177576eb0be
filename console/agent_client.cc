#include "reprise/console/agent_client.h"

namespace reprise::console {

AgentClient::AgentClient(std::string address, std::chrono::milliseconds timeout,
                         ClientSecurity security)
    : address_(std::move(address)), timeout_(timeout), security_(std::move(security)) {
  grpc::ChannelArguments args;
  // Payloads can be large (the agent's limit is a setting): do not let the
  // client's default 4 MiB cap hide a message from `show`.
  args.SetMaxReceiveMessageSize(256 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (security_.tls()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security_.tls_ca_pem;
    ssl.pem_cert_chain = security_.tls_cert_pem;
    ssl.pem_private_key = security_.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  channel_ = grpc::CreateCustomChannel(address_, credentials, args);
  stub_ = v1::Agent::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> AgentClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
  if (!security_.token.empty()) context->AddMetadata("authorization", "Bearer " + security_.token);
  return context;
}

grpc::Status AgentClient::Describe(v1::DescribeResponse* response) {
  auto context = NewContext();
  return stub_->Describe(context.get(), v1::DescribeRequest(), response);
}

grpc::Status AgentClient::ListMessages(const v1::ListMessagesRequest& request,
                                       v1::ListMessagesResponse* response) {
  auto context = NewContext();
  return stub_->ListMessages(context.get(), request, response);
}

grpc::Status AgentClient::GetMessage(const v1::GetMessageRequest& request,
                                     v1::GetMessageResponse* response) {
  auto context = NewContext();
  return stub_->GetMessage(context.get(), request, response);
}

grpc::Status AgentClient::CountMessages(const v1::CountMessagesRequest& request,
                                        v1::CountMessagesResponse* response) {
  auto context = NewContext();
  return stub_->CountMessages(context.get(), request, response);
}

grpc::Status AgentClient::StartReflow(const v1::StartReflowRequest& request, v1::StartReflowResponse* response) {
  auto context = NewContext();
  return stub_->StartReflow(context.get(), request, response);
}

grpc::Status AgentClient::ListJobs(const v1::ListJobsRequest& request, v1::ListJobsResponse* response) {
  auto context = NewContext();
  return stub_->ListJobs(context.get(), request, response);
}

grpc::Status AgentClient::GetJob(const v1::GetJobRequest& request, v1::Job* response) {
  auto context = NewContext();
  return stub_->GetJob(context.get(), request, response);
}

grpc::Status AgentClient::CancelJob(const v1::CancelJobRequest& request, v1::Job* response) {
  auto context = NewContext();
  return stub_->CancelJob(context.get(), request, response);
}

grpc::Status AgentClient::ListAudit(const v1::ListAuditRequest& request, v1::ListAuditResponse* response) {
  auto context = NewContext();
  return stub_->ListAudit(context.get(), request, response);
}

grpc::Status AgentClient::InvokeKnob(const v1::InvokeKnobRequest& request, v1::InvokeKnobResponse* response) {
  auto context = NewContext();
  return stub_->InvokeKnob(context.get(), request, response);
}

grpc::Status AgentClient::GetFlow(const v1::GetFlowRequest& request, v1::GetFlowResponse* response) {
  auto context = NewContext();
  return stub_->GetFlow(context.get(), request, response);
}

grpc::Status AgentClient::SetFlow(const v1::SetFlowRequest& request, v1::SetFlowResponse* response) {
  auto context = NewContext();
  return stub_->SetFlow(context.get(), request, response);
}

grpc::Status AgentClient::Migrate(const v1::MigrateRequest& request, v1::MigrateResponse* response) {
  auto context = NewContext();
  return stub_->Migrate(context.get(), request, response);
}

grpc::Status AgentClient::Rederive(const v1::RederiveRequest& request,
                                   v1::RederiveResponse* response) {
  auto context = NewContext();
  return stub_->Rederive(context.get(), request, response);
}

grpc::Status AgentClient::ListKnobs(v1::ListKnobsResponse* response) {
  auto context = NewContext();
  return stub_->ListKnobs(context.get(), v1::ListKnobsRequest(), response);
}

grpc::Status AgentClient::ListFlows(v1::ListFlowsResponse* response) {
  auto context = NewContext();
  return stub_->ListFlows(context.get(), v1::ListFlowsRequest(), response);
}

std::unique_ptr<grpc::ClientReader<v1::JobProgress>> AgentClient::WatchJob(
    grpc::ClientContext* context, const v1::WatchJobRequest& request) {
  if (!security_.token.empty()) context->AddMetadata("authorization", "Bearer " + security_.token);
  return stub_->WatchJob(context, request);
}

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

}  // namespace reprise::console
