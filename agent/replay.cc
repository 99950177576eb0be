#include "reprise/agent/replay.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include "convert.h"
#include "handler_context.h"
#include "host_code.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::replay {
namespace {

// Like the agent's, but flows resolve to the variants the recorded message
// was handled with (or those the test chose in ReplayOptions).
class ReplayContext final : public HandlerContext {
 public:
  ReplayContext(const Message& in, std::string_view recorded_variant,
                const ReplayOptions& options, std::vector<Message>* emitted)
      : HandlerContext(in, emitted), recorded_variant_(recorded_variant), options_(options) {}

 private:
  std::string ResolveFlow(std::string_view name) override {
    if (auto it = options_.flows.find(name); it != options_.flows.end()) return it->second;
    std::string_view rest = recorded_variant_;
    if (rest.find('=') == std::string_view::npos) return std::string(rest);  // one flow, or none
    while (!rest.empty()) {  // "flow=variant,flow=variant"
      std::string_view item = rest.substr(0, rest.find(','));
      rest = item.size() < rest.size() ? rest.substr(item.size() + 1) : std::string_view();
      size_t eq = item.find('=');
      if (eq != std::string_view::npos && item.substr(0, eq) == name) {
        return std::string(item.substr(eq + 1));
      }
    }
    return "";
  }

  std::string_view recorded_variant_;
  const ReplayOptions& options_;
};

template <typename S>
std::string StatusText(const S& status) {
  auto m = status.message();
  return std::string(m.data(), m.size());
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string OutcomeText(Outcome outcome, std::string_view error) {
  std::string out(OutcomeName(outcome));
  if (!error.empty()) out += " " + Quoted(error);
  return out;
}

}  // namespace

StatusOr<std::vector<Message>> ParseExport(std::string_view text, std::string_view source) {
  std::vector<Message> messages;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a typo in a hand-written line is an error
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    v1::Message proto;
    auto st = google::protobuf::util::JsonStringToMessage(std::string(line), &proto, options);
    if (!st.ok()) {
      return InvalidArgument(std::string(source) + ":" + std::to_string(line_no) +
                             ": not a reprise.v1.Message in JSON: " + StatusText(st));
    }
    messages.push_back(FromProto(proto));
  }
  return messages;
}

StatusOr<std::vector<Message>> LoadExport(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("cannot open export file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return DataLoss("cannot read export file " + path);
  return ParseExport(text.str(), path);
}

std::string ExportLine(const Message& message) {
  v1::Message proto;
  ToProto(message, &proto);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string line;
  // Cannot fail for a message we built: every field is valid proto3.
  (void)google::protobuf::util::MessageToJsonString(proto, &line, options);
  return line;
}

Status WriteExport(const std::string& path, const std::vector<Message>& messages) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    return FailedPrecondition("cannot create export file " + path + ": " + std::strerror(errno));
  }
  for (const Message& m : messages) out << ExportLine(m) << '\n';
  out.close();
  if (!out) return DataLoss("cannot write export file " + path);
  return Status::Ok();
}

ReplayResult Replay(const Message& recorded, const Handler& handler,
                    const ReplayOptions& options) {
  ReplayResult result;
  if (!handler) {
    result.outcome = Outcome::kSkipped;
    result.error = "no handler registered for channel " + recorded.channel;
    return result;
  }
  // What the handler saw on delivery: the message before its outcome was known.
  Message in = recorded;
  in.outcome = Outcome::kPending;
  in.error.clear();
  in.flow_variant.clear();
  ReplayContext ctx(in, recorded.flow_variant, options, &result.emitted);
  result.status = Contain("handler for " + in.channel, [&] { return handler(in, ctx); });
  result.flow_variant = ctx.FlowVariant();
  result.outcome = result.status.ok() ? Outcome::kOk : Outcome::kFailed;
  result.error = result.status.ok() ? "" : result.status.message();
  return result;
}

std::vector<ReplayResult> Replay(const std::vector<Message>& recorded, const Handler& handler,
                                 const ReplayOptions& options) {
  std::vector<ReplayResult> results;
  results.reserve(recorded.size());
  for (const Message& m : recorded) results.push_back(Replay(m, handler, options));
  return results;
}

std::vector<ReplayResult> Replay(const std::vector<Message>& recorded, const Handlers& handlers,
                                 const ReplayOptions& options) {
  static const Handler kNone;
  std::vector<ReplayResult> results;
  results.reserve(recorded.size());
  for (const Message& m : recorded) {
    auto it = handlers.find(m.channel);
    results.push_back(Replay(m, it == handlers.end() ? kNone : it->second, options));
  }
  return results;
}

bool Reproduces(const Message& recorded, const ReplayResult& replayed) {
  return recorded.outcome == replayed.outcome && recorded.error == replayed.error;
}

std::string Mismatch(const Message& recorded, const ReplayResult& replayed) {
  if (Reproduces(recorded, replayed)) return "";
  std::string out = "message " + (recorded.id.empty() ? std::string("(no id)") : recorded.id) +
                    " (" + recorded.channel + ", " + recorded.key + "): recorded " +
                    OutcomeText(recorded.outcome, recorded.error) + ", replayed " +
                    OutcomeText(replayed.outcome, replayed.error);
  if (recorded.outcome == Outcome::kPending) {
    out += " (a pending record was never handled to the end: nothing to reproduce)";
  }
  return out;
}

void PrintTo(const ReplayResult& result, std::ostream* os) {
  *os << "{" << OutcomeText(result.outcome, result.error);
  if (!result.flow_variant.empty()) *os << ", flow " << result.flow_variant;
  *os << ", emitted " << result.emitted.size();
  for (const Message& m : result.emitted) *os << " " << m.channel << "/" << m.key;
  *os << "}";
}

}  // namespace reprise::replay
