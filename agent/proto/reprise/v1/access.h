// What changes state in the Reprise API, read from the `access` option each
// method carries in agent.proto: one rule for the agent (who may call, what is
// audited) and the console (which commands change state and may ask first).
#pragma once

#include <google/protobuf/descriptor.h>

#include "reprise/v1/agent.pb.h"

namespace reprise {

// The Agent service as compiled in (gRPC's generated class has no descriptor).
inline const google::protobuf::ServiceDescriptor& AgentServiceDescriptor() {
  return *v1::DescribeRequest::descriptor()->file()->FindServiceByName("Agent");
}

// A method mutates unless agent.proto declares it READ. One without the
// option counts as mutating, the safe side: operators only, every call
// audited.
inline bool Mutates(const google::protobuf::MethodDescriptor& method) {
  return method.options().GetExtension(v1::access) != v1::READ;
}

}  // namespace reprise
