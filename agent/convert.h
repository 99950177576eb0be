// Conversions between the agent's C++ types and the reprise.v1 API messages.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>

#include "reprise/agent/agent.h"
#include "reprise/base/status.h"
#include "reprise/reflow/engine.h"
#include "reprise/store/journal.h"
#include "reprise/v1/agent.pb.h"

namespace reprise {

struct RederiveOutcome;  // rederive.h
namespace filter {
struct FieldInfo;  // reprise/store/filter.h
}

// Status codes are gRPC's, so this is one to one.
grpc::Status ToGrpc(const Status& status);

void ToProto(const Message& in, v1::Message* out);
void ToProto(const JobRecord& in, v1::Job* out);
void ToProto(const JobProgress& in, v1::JobProgress* out);
void ToProto(const JobPlan& in, v1::DryRunSummary* out);
void SetTimestamp(int64_t unix_us, google::protobuf::Timestamp* out);
void SetTimestamp(std::chrono::system_clock::time_point t, google::protobuf::Timestamp* out);

// Describe's parts. The journal's health as the agent records into it: its
// recording settings and figures (the backend and schema version are the
// journal's to say).
void ToProto(const AgentOptions& options, const AgentStats& stats, v1::JournalHealth* out);
// This instance's last heartbeat in the fleet's registry, and its error.
void ToProto(const AgentStats& stats, v1::FleetHealth* out);
// A transport's status as Agent::AddTransport's callback reported it.
void ToProto(const TransportStatus& in, v1::Transport* out);
// Retention: its policy in words, what it did, and the journal's extent now.
void ToProto(std::string_view policy, const RetentionStats& stats, const JournalExtent& extent,
             v1::RetentionStatus* out);
// A channel of the journal, and whether this instance handles or sends it.
void ToProto(const ChannelInfo& in, bool has_handler, bool has_sender, v1::ChannelSummary* out);
void ToProto(const filter::FieldInfo& in, v1::FilterField* out);

// One key's re-derive result, added to the response and counted by kind.
void AddResult(const RederiveOutcome& in, v1::RederiveResponse* out);

// The reverse of ToProto(Message). Unset fields get Message's defaults:
// direction in, outcome pending, attempt 1.
Message FromProto(const v1::Message& in);

}  // namespace reprise
