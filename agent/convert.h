// Conversions between the agent's C++ types and the reprise.v1 API messages.
#pragma once

#include <grpcpp/support/status.h>

#include "reprise/store/journal.h"
#include "reprise/store/status.h"
#include "reprise/v1/agent.pb.h"

namespace reprise {

// Status codes are gRPC's, so this is one to one.
grpc::Status ToGrpc(const Status& status);

void ToProto(const Message& in, v1::Message* out);

}  // namespace reprise
