#include "reprise/console/agent_client.h"

namespace reprise::console {

AgentClient::AgentClient(std::string address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {
  grpc::ChannelArguments args;
  // Payloads can be large (the agent's limit is a setting): do not let the
  // client's default 4 MiB cap hide a message from `show`.
  args.SetMaxReceiveMessageSize(256 << 20);
  channel_ = grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(), args);
  stub_ = v1::Agent::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> AgentClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + timeout_);
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
