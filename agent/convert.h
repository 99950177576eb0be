// Conversions between the agent's C++ types and the reprise.v1 API messages.
#pragma once

#include <grpcpp/support/status.h>

#include "reprise/reflow/engine.h"
#include "reprise/store/journal.h"
#include "reprise/base/status.h"
#include "reprise/v1/agent.pb.h"

namespace reprise {

// Status codes are gRPC's, so this is one to one.
grpc::Status ToGrpc(const Status& status);

void ToProto(const Message& in, v1::Message* out);
void ToProto(const JobRecord& in, v1::Job* out);
void ToProto(const JobProgress& in, v1::JobProgress* out);
void ToProto(const JobPlan& in, v1::DryRunSummary* out);
void SetTimestamp(int64_t unix_us, google::protobuf::Timestamp* out);

// The reverse of ToProto(Message). Unset fields get Message's defaults:
// direction in, outcome pending, attempt 1.
Message FromProto(const v1::Message& in);

}  // namespace reprise
