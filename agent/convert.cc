#include "convert.h"

#include "rederive.h"
#include "reprise/store/filter.h"

namespace reprise {

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

void ToProto(const Message& in, v1::Message* out) {
  out->set_id(in.id);
  out->set_direction(in.direction == Direction::kOut ? v1::OUT : v1::IN);
  out->set_channel(in.channel);
  out->set_key(in.key);
  out->set_correlation_id(in.correlation_id);
  out->set_causation_id(in.causation_id);
  for (const auto& [k, v] : in.headers) (*out->mutable_headers())[k] = v;
  out->set_payload(in.payload);
  out->set_payload_size(in.payload_size ? in.payload_size : in.payload.size());
  out->set_content_type(in.content_type);
  SetTimestamp(in.recorded_at_us, out->mutable_recorded_at());
  out->set_outcome(static_cast<v1::Outcome>(static_cast<int>(in.outcome)));
  out->set_error(in.error);
  out->set_attempt(in.attempt);
  out->set_origin_id(in.origin_id);
  out->set_job_id(in.job_id);
  out->set_flow_variant(in.flow_variant);
  out->set_resolved_by(in.resolved_by);
}

Message FromProto(const v1::Message& in) {
  Message out;
  out.id = in.id();
  out.direction = in.direction() == v1::OUT ? Direction::kOut : Direction::kIn;
  out.channel = in.channel();
  out.key = in.key();
  out.correlation_id = in.correlation_id();
  out.causation_id = in.causation_id();
  for (const auto& [k, v] : in.headers()) out.headers[k] = v;
  out.payload = in.payload();
  out.payload_size = in.payload_size();
  out.content_type = in.content_type();
  out.recorded_at_us = in.recorded_at().seconds() * 1000000 + in.recorded_at().nanos() / 1000;
  switch (in.outcome()) {
    case v1::OK: out.outcome = Outcome::kOk; break;
    case v1::FAILED: out.outcome = Outcome::kFailed; break;
    case v1::SKIPPED: out.outcome = Outcome::kSkipped; break;
    default: out.outcome = Outcome::kPending; break;
  }
  out.error = in.error();
  out.attempt = in.attempt() ? in.attempt() : 1;
  out.origin_id = in.origin_id();
  out.job_id = in.job_id();
  out.flow_variant = in.flow_variant();
  out.resolved_by = in.resolved_by();
  return out;
}

void SetTimestamp(int64_t unix_us, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_us / 1000000);
  out->set_nanos(static_cast<int32_t>(unix_us % 1000000) * 1000);
}

void SetTimestamp(std::chrono::system_clock::time_point t, google::protobuf::Timestamp* out) {
  SetTimestamp(std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count(),
               out);
}

void ToProto(const AgentOptions& options, const AgentStats& stats, v1::JournalHealth* out) {
  const RecordingStats& r = stats.recording;
  out->set_durability(std::string(DurabilityName(options.durability)));
  out->set_overload_policy(std::string(OverloadPolicyName(options.overload)));
  out->set_recorded(r.recorded);
  out->set_committed(r.committed);
  out->set_queued(r.queued);
  out->set_dropped(r.dropped);
  out->set_refused_oversize(stats.refused_oversize);
  out->set_last_error(r.last_error);
  out->set_max_payload_bytes(options.max_payload_bytes);
  out->set_healthy(r.healthy());
  // Times that never happened (the epoch) stay unset.
  auto set_time = [](std::chrono::system_clock::time_point t, google::protobuf::Timestamp* ts) {
    if (t.time_since_epoch().count() != 0) SetTimestamp(t, ts);
  };
  if (!r.healthy()) set_time(r.failing_since, out->mutable_failing_since());
  out->set_write_failures(r.failed_writes);
  out->set_rejected(r.rejected);
  out->set_queued_bytes(r.queued_bytes);
  out->set_max_queue_bytes(options.max_queue_bytes);
  out->set_last_fault(r.last_fault);
  if (!r.last_fault.empty()) set_time(r.last_fault_at, out->mutable_last_fault_at());
  set_time(r.recovered_at, out->mutable_recovered_at());
}

void ToProto(const AgentStats& stats, v1::FleetHealth* out) {
  out->set_heartbeat_error(stats.heartbeat_error);
  if (stats.last_heartbeat_us > 0) SetTimestamp(stats.last_heartbeat_us, out->mutable_last_heartbeat());
}

void ToProto(const TransportStatus& in, v1::Transport* out) {
  out->set_name(in.name);
  out->set_kind(in.kind);
  out->set_endpoint(in.endpoint);
  out->set_channel(in.channel);
  out->set_connected(in.connected);
  out->set_last_error(in.last_error);
  for (const auto& [name, value] : in.counters) {
    v1::TransportCounter* c = out->add_counters();
    c->set_name(name);
    c->set_value(value);
  }
}

void ToProto(std::string_view policy, const RetentionStats& stats, const JournalExtent& extent,
             v1::RetentionStatus* out) {
  out->set_policy(std::string(policy));
  if (extent.oldest_us > 0) SetTimestamp(extent.oldest_us, out->mutable_oldest_message());
  out->set_journal_bytes(extent.bytes);
  out->set_removed(stats.removed);
  if (stats.last_removal_us > 0) SetTimestamp(stats.last_removal_us, out->mutable_last_removal());
  out->set_last_removed(stats.last_removed);
  out->set_waiting_for(stats.waiting_for);
  out->set_last_error(stats.last_error);
}

void ToProto(const ChannelInfo& in, bool has_handler, bool has_sender, v1::ChannelSummary* out) {
  out->set_channel(in.channel);
  out->set_direction(in.direction == Direction::kOut ? v1::OUT : v1::IN);
  out->set_messages(in.messages);
  out->set_failed(in.failed);
  out->set_unresolved(in.unresolved);
  out->set_has_handler(has_handler);
  out->set_has_sender(has_sender);
}

void ToProto(const filter::FieldInfo& in, v1::FilterField* out) {
  out->set_name(in.name);
  out->set_description(in.description);
  out->set_is_prefix(in.is_prefix);
}

void AddResult(const RederiveOutcome& in, v1::RederiveResponse* out) {
  v1::RederiveResult* result = out->add_results();
  result->set_key(in.key);
  switch (in.kind) {
    case RederiveOutcome::Kind::kUnchanged:
      result->set_kind(v1::RederiveResult::UNCHANGED);
      out->set_unchanged(out->unchanged() + 1);
      break;
    case RederiveOutcome::Kind::kChanged:
      result->set_kind(v1::RederiveResult::CHANGED);
      out->set_changed(out->changed() + 1);
      break;
    case RederiveOutcome::Kind::kFailed:
      result->set_kind(v1::RederiveResult::FAILED);
      out->set_failed(out->failed() + 1);
      break;
  }
  for (const std::string& d : in.diff) result->add_diff(d);
  result->set_before(in.before);
  result->set_after(in.after);
  result->set_error(in.error);
  result->set_output_id(in.output_id);
}

void ToProto(const JobRecord& in, v1::Job* out) {
  out->set_id(in.id);
  out->set_kind(in.spec.kind);
  out->set_state(static_cast<v1::JobState>(static_cast<int>(in.state)));
  out->set_filter(in.spec.filter);
  out->set_target(in.spec.target == ReflowTarget::kDownstream ? v1::DOWNSTREAM : v1::SELF);
  out->set_rate(in.spec.rate);
  out->set_concurrency(in.spec.concurrency);
  out->set_max_failures(in.spec.max_failures);
  out->set_limit(in.spec.limit);
  out->set_total(in.total);
  out->set_done(in.done);
  out->set_failed(in.failed);
  out->set_redelivered(in.redelivered);
  out->set_reason(in.reason);
  SetTimestamp(in.created_at_us, out->mutable_created_at());
  if (in.finished_at_us) SetTimestamp(in.finished_at_us, out->mutable_finished_at());
  out->set_created_by(in.spec.created_by);
  out->set_instance(in.instance);
  out->set_deriver(in.spec.deriver);
  out->set_dry_run(in.spec.dry_run);
  out->set_changed(in.changed);
  for (const std::string& k : in.changed_keys) out->add_changed_keys(k);
}

void ToProto(const JobProgress& in, v1::JobProgress* out) {
  ToProto(in.job, out->mutable_job());
  out->set_remaining(in.job.total > in.job.done ? in.job.total - in.job.done : 0);
  out->set_rate(in.rate);
  out->set_eta_seconds(in.eta_seconds);
  out->set_final(IsFinal(in.job.state));
}

void ToProto(const JobPlan& in, v1::DryRunSummary* out) {
  out->set_messages(in.messages);
  out->set_keys(in.keys);
  out->set_excluded(in.excluded);
  out->set_resolved(in.resolved);
  out->set_older(in.older);
  out->set_pin(in.pin);
  for (const CountRow& r : in.by_channel) {
    auto* g = out->add_by_channel();
    g->set_value(r.group);
    g->set_count(r.count);
  }
  for (const CountRow& r : in.by_outcome) {
    auto* g = out->add_by_outcome();
    g->set_value(r.group);
    g->set_count(r.count);
  }
  for (const Message& m : in.sample) ToProto(m, out->add_sample());
}

}  // namespace reprise
