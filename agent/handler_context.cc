#include "handler_context.h"

namespace reprise {

std::string_view GuessContentType(std::string_view payload) {
  size_t i = payload.find_first_not_of(" \t\r\n");
  if (i != std::string_view::npos && (payload[i] == '{' || payload[i] == '[')) {
    return "application/json";
  }
  for (unsigned char c : payload) {
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return "application/octet-stream";
  }
  return "text/plain";
}

std::string HandlerContext::Flow(std::string_view name) {
  std::string variant = ResolveFlow(name);
  for (const auto& [n, v] : consulted_) {
    if (n == name) return variant;
  }
  consulted_.emplace_back(name, variant);
  return variant;
}

std::string HandlerContext::FlowVariant() const {
  if (consulted_.size() == 1) return consulted_[0].second;
  std::string out;
  for (const auto& [n, v] : consulted_) out += (out.empty() ? "" : ",") + n + "=" + v;
  return out;
}

void HandlerContext::Emit(std::string_view channel, std::string_view key,
                          std::string_view payload, Headers headers,
                          std::string_view content_type) {
  Message out;
  out.direction = Direction::kOut;
  out.channel = channel;
  out.key = key;
  out.payload = payload;
  out.headers = std::move(headers);
  out.content_type = content_type.empty() ? GuessContentType(payload) : content_type;
  out.causation_id = in_.id;
  out.correlation_id = in_.correlation_id.empty() ? in_.id : in_.correlation_id;
  out.job_id = in_.job_id;
  emitted_->push_back(std::move(out));
}

}  // namespace reprise
