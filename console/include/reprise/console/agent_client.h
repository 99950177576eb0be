// The console's connection to one agent: the gRPC API and nothing else (the
// console never opens the journal itself).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "reprise/v1/agent.grpc.pb.h"

namespace reprise::console {

// How the console proves who it is and whom it talks to (docs/security.md).
struct ClientSecurity {
  std::string token;  // sent as "authorization: Bearer TOKEN"; "" for none
  // TLS when any is set. The CA verifies the agent (default: the system's
  // roots); a certificate and key are for agents that require mutual TLS.
  std::string tls_ca_pem, tls_cert_pem, tls_key_pem;
  bool tls() const { return !tls_ca_pem.empty() || !tls_cert_pem.empty(); }
};

// A channel and stub for the agent at `address`, with a deadline on every
// call. Creating it does not connect; the first call does. Thread-safe (as
// gRPC stubs are), though the console uses it from one thread.
class AgentClient {
 public:
  AgentClient(std::string address, std::chrono::milliseconds timeout,
              ClientSecurity security = {});

  const std::string& address() const { return address_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  // What this client sends and checks; fleet mode gives every instance's
  // client the same (docs/fleet.md).
  const ClientSecurity& security() const { return security_; }

  grpc::Status Describe(v1::DescribeResponse* response);
  grpc::Status ListMessages(const v1::ListMessagesRequest& request,
                            v1::ListMessagesResponse* response);
  grpc::Status GetMessage(const v1::GetMessageRequest& request, v1::GetMessageResponse* response);
  grpc::Status CountMessages(const v1::CountMessagesRequest& request,
                             v1::CountMessagesResponse* response);

  grpc::Status StartReflow(const v1::StartReflowRequest& request,
                           v1::StartReflowResponse* response);
  // The progress stream of a job. `context` belongs to the caller (it has no
  // deadline: a watch lasts as long as the job; TryCancel() ends it); the
  // token is added to it.
  std::unique_ptr<grpc::ClientReader<v1::JobProgress>> WatchJob(
      grpc::ClientContext* context, const v1::WatchJobRequest& request);
  grpc::Status ListJobs(const v1::ListJobsRequest& request, v1::ListJobsResponse* response);
  grpc::Status GetJob(const v1::GetJobRequest& request, v1::Job* response);
  grpc::Status CancelJob(const v1::CancelJobRequest& request, v1::Job* response);

  grpc::Status ListAudit(const v1::ListAuditRequest& request, v1::ListAuditResponse* response);
  grpc::Status ListKnobs(v1::ListKnobsResponse* response);
  grpc::Status InvokeKnob(const v1::InvokeKnobRequest& request,
                          v1::InvokeKnobResponse* response);
  grpc::Status ListFlows(v1::ListFlowsResponse* response);
  grpc::Status GetFlow(const v1::GetFlowRequest& request, v1::GetFlowResponse* response);
  grpc::Status SetFlow(const v1::SetFlowRequest& request, v1::SetFlowResponse* response);
  grpc::Status Migrate(const v1::MigrateRequest& request, v1::MigrateResponse* response);
  grpc::Status Rederive(const v1::RederiveRequest& request, v1::RederiveResponse* response);

 private:
  // A context whose deadline is now + timeout.
  std::unique_ptr<grpc::ClientContext> NewContext() const;

  std::string address_;
  std::chrono::milliseconds timeout_;
  ClientSecurity security_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

// "INVALID_ARGUMENT", "UNAVAILABLE", ... as gRPC spells the code.
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace reprise::console
