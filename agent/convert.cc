#include "convert.h"

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
  out->mutable_recorded_at()->set_seconds(in.recorded_at_us / 1000000);
  out->mutable_recorded_at()->set_nanos(static_cast<int32_t>(in.recorded_at_us % 1000000) * 1000);
  out->set_outcome(static_cast<v1::Outcome>(static_cast<int>(in.outcome)));
  out->set_error(in.error);
  out->set_attempt(in.attempt);
  out->set_origin_id(in.origin_id);
  out->set_job_id(in.job_id);
  out->set_flow_variant(in.flow_variant);
}

}  // namespace reprise
