// libFuzzer target: the agent's gRPC API. The first byte picks a method, the
// rest is parsed as that method's request message; what parses is sent over
// a real loopback channel to an agent in this process (the demo ledger:
// handlers, senders, knobs, a flow and a deriver, over a small journal).
// Every call has a deadline, so a long job or stream cannot stall the run.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger.h"
#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"

namespace {

using namespace reprise;
using Stub = v1::Agent::Stub;

struct Harness {
  std::unique_ptr<Agent> agent;
  std::unique_ptr<demo::Ledger> ledger;
  std::unique_ptr<Stub> stub;
};

Harness* Setup() {
  auto* h = new Harness;  // lives for the whole run
  // Invalid UTF-8 in string fields is refused (and would be logged per input).
  google::protobuf::SetLogHandler(nullptr);
  std::string dir = std::filesystem::temp_directory_path() /
                    ("reprise-api-fuzz-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto agent = Agent::Start({.service = "fuzz", .journal = "sqlite:" + dir + "/fuzz.journal",
                             .listen = "127.0.0.1:0"});
  if (!agent.ok()) std::abort();
  h->agent = std::move(*agent);
  h->ledger = std::make_unique<demo::Ledger>(demo::LedgerOptions{
      .downstream_failure_rate = 0.3, .invalid_payment_rate = 0.2, .accounts = 4, .seed = 1});
  h->ledger->Register(*h->agent);
  for (int i = 0; i < 20; ++i) {
    std::string key = "account:" + std::to_string(i % 4 + 1);
    (void)h->agent->Deliver("payments.received", key,
                            "{\"payment_id\":\"p-" + std::to_string(i) + "\",\"account\":\"" +
                                key + "\",\"amount\":\"" + (i % 5 == 0 ? "bad" : "1.25") + "\"}",
                            {.content_type = "application/json"});
  }
  (void)h->agent->Flush();
  h->stub = v1::Agent::NewStub(
      grpc::CreateChannel(h->agent->listen_address(), grpc::InsecureChannelCredentials()));
  return h;
}

// Parses `bytes` as Req and, if that works, calls the unary method.
template <typename Req, typename Resp>
void Unary(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
           const uint8_t* bytes, size_t size) {
  Req request;
  if (!request.ParseFromArray(bytes, static_cast<int>(size))) return;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  Resp response;
  (void)(stub.*method)(&ctx, request, &response);
}

void Watch(Stub& stub, const uint8_t* bytes, size_t size) {
  v1::WatchJobRequest request;
  if (!request.ParseFromArray(bytes, static_cast<int>(size))) return;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
  auto reader = stub.WatchJob(&ctx, request);
  v1::JobProgress progress;
  while (reader->Read(&progress)) {
  }
  (void)reader->Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = Setup();
  if (size == 0) return 0;
  Stub& s = *h->stub;
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  switch (data[0] % 17) {
    case 0: Unary(s, &Stub::Describe, body, n); break;
    case 1: Unary(s, &Stub::ListMessages, body, n); break;
    case 2: Unary(s, &Stub::GetMessage, body, n); break;
    case 3: Unary(s, &Stub::CountMessages, body, n); break;
    case 4: Unary(s, &Stub::StartReflow, body, n); break;
    case 5: Watch(s, body, n); break;
    case 6: Unary(s, &Stub::ListJobs, body, n); break;
    case 7: Unary(s, &Stub::GetJob, body, n); break;
    case 8: Unary(s, &Stub::CancelJob, body, n); break;
    case 9: Unary(s, &Stub::Rederive, body, n); break;
    case 10: Unary(s, &Stub::ListKnobs, body, n); break;
    case 11: Unary(s, &Stub::InvokeKnob, body, n); break;
    case 12: Unary(s, &Stub::ListFlows, body, n); break;
    case 13: Unary(s, &Stub::GetFlow, body, n); break;
    case 14: Unary(s, &Stub::SetFlow, body, n); break;
    case 15: Unary(s, &Stub::Migrate, body, n); break;
    case 16: Unary(s, &Stub::ListAudit, body, n); break;
  }
  return 0;
}
