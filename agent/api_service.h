// The reprise.v1.Agent gRPC service: a callback service over an AgentCore.
#pragma once

#include "agent_core.h"
#include "gatekeeper.h"
#include "reprise/v1/agent.grpc.pb.h"

namespace reprise {

// Every method is behind the gatekeeper: the constructor registers each one
// to run only once Gatekeeper::Admit lets its call in, so the methods below
// start with the work. Thread-safe: gRPC calls these methods concurrently;
// everything they touch (journal, stats, registries) is itself thread-safe.
class ApiService final : public v1::Agent::CallbackService {
 public:
  ApiService(AgentCore* core, Gatekeeper* gatekeeper);

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* ctx,
                                     const v1::DescribeRequest* request,
                                     v1::DescribeResponse* response) override;
  grpc::ServerUnaryReactor* ListMessages(grpc::CallbackServerContext* ctx,
                                         const v1::ListMessagesRequest* request,
                                         v1::ListMessagesResponse* response) override;
  grpc::ServerUnaryReactor* GetMessage(grpc::CallbackServerContext* ctx,
                                       const v1::GetMessageRequest* request,
                                       v1::GetMessageResponse* response) override;
  grpc::ServerUnaryReactor* CountMessages(grpc::CallbackServerContext* ctx,
                                          const v1::CountMessagesRequest* request,
                                          v1::CountMessagesResponse* response) override;
  grpc::ServerUnaryReactor* StartReflow(grpc::CallbackServerContext* ctx,
                                        const v1::StartReflowRequest* request,
                                        v1::StartReflowResponse* response) override;
  grpc::ServerWriteReactor<v1::JobProgress>* WatchJob(grpc::CallbackServerContext* ctx,
                                                       const v1::WatchJobRequest* request) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* ctx,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* ctx,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* Rederive(grpc::CallbackServerContext* ctx,
                                     const v1::RederiveRequest* request,
                                     v1::RederiveResponse* response) override;
  grpc::ServerUnaryReactor* ListKnobs(grpc::CallbackServerContext* ctx,
                                      const v1::ListKnobsRequest* request,
                                      v1::ListKnobsResponse* response) override;
  grpc::ServerUnaryReactor* InvokeKnob(grpc::CallbackServerContext* ctx,
                                       const v1::InvokeKnobRequest* request,
                                       v1::InvokeKnobResponse* response) override;
  grpc::ServerUnaryReactor* ListFlows(grpc::CallbackServerContext* ctx,
                                      const v1::ListFlowsRequest* request,
                                      v1::ListFlowsResponse* response) override;
  grpc::ServerUnaryReactor* GetFlow(grpc::CallbackServerContext* ctx,
                                    const v1::GetFlowRequest* request,
                                    v1::GetFlowResponse* response) override;
  grpc::ServerUnaryReactor* SetFlow(grpc::CallbackServerContext* ctx,
                                    const v1::SetFlowRequest* request,
                                    v1::SetFlowResponse* response) override;
  grpc::ServerUnaryReactor* Migrate(grpc::CallbackServerContext* ctx,
                                    const v1::MigrateRequest* request,
                                    v1::MigrateResponse* response) override;
  grpc::ServerUnaryReactor* ListAudit(grpc::CallbackServerContext* ctx,
                                      const v1::ListAuditRequest* request,
                                      v1::ListAuditResponse* response) override;

 private:
  // Registers `serve` as the method `name` of the service, behind the
  // gatekeeper: a refused call is finished with the refusal and never
  // reaches `serve`. Returns the method's index.
  template <class Request, class Response>
  int Gate(const std::string& name,
           grpc::ServerUnaryReactor* (ApiService::*serve)(grpc::CallbackServerContext*,
                                                          const Request*, Response*));
  template <class Request, class Response>
  int Gate(const std::string& name,
           grpc::ServerWriteReactor<Response>* (ApiService::*serve)(grpc::CallbackServerContext*,
                                                                    const Request*));
  // Who is calling, for the methods that record it or redact for it.
  Caller Who(grpc::CallbackServerContext* ctx) const { return gatekeeper_->Identify(*ctx); }
  // INVALID_ARGUMENT (finished) when `filter` is over max_filter_length.
  grpc::ServerUnaryReactor* CheckFilter(grpc::CallbackServerContext* ctx, const std::string& filter);
  // PERMISSION_DENIED (finished) when a redacted viewer's filter or group-by
  // reads payload values: which messages match would give the values away.
  grpc::ServerUnaryReactor* CheckPayloadAccess(grpc::CallbackServerContext* ctx, const Caller& caller,
                                               const std::string& filter,
                                               const std::string& group_by = "");
  // The page size to ask the store for: at most max_page_size (0: the
  // default of 50, within that limit too).
  uint32_t PageSize(uint32_t requested) const;
  // Viewers see metadata only when the agent says so (redact_payloads_for_viewers).
  bool Redact(const Caller& caller) const;

  AgentCore* const core_;
  Gatekeeper* const gatekeeper_;
};

}  // namespace reprise
