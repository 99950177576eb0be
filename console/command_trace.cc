// trace ID: a message's lineage as a tree: its causes above it, its effects
// and reflowed copies (and theirs) below.
#include <algorithm>
#include <set>
#include <sstream>

#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/message_view.h"
#include "reprise/console/session.h"

namespace reprise::console {
namespace {

constexpr int kMaxDepth = 8;        // levels below the traced message
constexpr size_t kMaxNodes = 200;   // messages fetched in all

struct TraceNode {
  v1::Message message;
  std::vector<TraceNode> children;
  bool traced = false;
  bool cut = false;  // has lineage that was not fetched (limits)
};

class Tracer {
 public:
  explicit Tracer(Session& session) : session_(session) {}

  // Fills `node` (whose message is set) with its effects and copies.
  grpc::Status Expand(TraceNode& node, const v1::GetMessageResponse& response, int depth) {
    std::vector<v1::Message> children(response.effects().begin(), response.effects().end());
    children.insert(children.end(), response.copies().begin(), response.copies().end());
    std::sort(children.begin(), children.end(),
              [](const v1::Message& a, const v1::Message& b) { return a.id() < b.id(); });
    for (auto& child : children) {
      if (!seen_.insert(child.id()).second) continue;
      if (seen_.size() > kMaxNodes || depth >= kMaxDepth) {
        node.cut = true;
        truncated_ = true;
        continue;
      }
      TraceNode c;
      v1::GetMessageRequest request;
      request.set_id(child.id());
      v1::GetMessageResponse sub;
      grpc::Status st = session_.agent().GetMessage(request, &sub);
      if (!st.ok()) return st;
      c.message = sub.message();
      c.message.clear_payload();
      st = Expand(c, sub, depth + 1);
      if (!st.ok()) return st;
      node.children.push_back(std::move(c));
    }
    return grpc::Status::OK;
  }

  void Mark(const std::string& id) { seen_.insert(id); }
  bool truncated() const { return truncated_; }

 private:
  Session& session_;
  std::set<std::string> seen_;
  bool truncated_ = false;
};

std::string NodeText(const TraceNode& n, const Output& out, bool unicode) {
  const v1::Message& m = n.message;
  std::string text = out.Paint(m.id(), n.traced ? Style::kBold : Style::kNone) + "  " +
                     DirectionName(m.direction()) + "  " + SanitizeForTerminal(m.channel()) +
                     "  " + SanitizeForTerminal(m.key().empty() ? "-" : m.key()) + "  " +
                     out.Paint(OutcomeName(m.outcome()), OutcomeStyle(m.outcome()));
  if (!m.error().empty()) text += ": " + out.Paint(SanitizeForTerminal(m.error()), Style::kRed);
  if (!m.origin_id().empty()) {
    text += "  (copy" + (m.job_id().empty() ? "" : ", job " + SanitizeForTerminal(m.job_id())) + ")";
  }
  if (n.traced) text += unicode ? "  \xE2\x97\x80 traced" : "  <- traced";
  if (n.cut) text += unicode ? "  \xE2\x80\xA6 more not shown" : "  ... more not shown";
  return text;
}

void Render(const TraceNode& n, const std::string& prefix, bool last, bool root,
            const Output& out, bool unicode, std::ostringstream& s) {
  const char* branch = unicode ? (last ? "\xE2\x94\x94\xE2\x94\x80 " : "\xE2\x94\x9C\xE2\x94\x80 ")
                               : (last ? "`-- " : "|-- ");
  const char* down = unicode ? (last ? "   " : "\xE2\x94\x82  ") : (last ? "    " : "|   ");
  s << (root ? "" : prefix + branch) << NodeText(n, out, unicode) << "\n";
  std::string child_prefix = root ? "" : prefix + down;
  for (size_t i = 0; i < n.children.size(); ++i) {
    Render(n.children[i], child_prefix, i + 1 == n.children.size(), false, out, unicode, s);
  }
}

std::string NodeJson(const TraceNode& n) {
  std::string out = "{\"message\":" + MessageToJson(n.message) + ",\"children\":[";
  for (size_t i = 0; i < n.children.size(); ++i) out += (i ? "," : "") + NodeJson(n.children[i]);
  return out + "]}";
}

CommandStatus Trace(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 2) return CommandStatus::Usage("usage: trace ID");
  v1::GetMessageRequest request;
  request.set_id(line.tokens[1].text);
  v1::GetMessageResponse response;
  grpc::Status rpc = session.agent().GetMessage(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);

  Tracer tracer(session);
  TraceNode traced;
  traced.message = response.message();
  traced.message.clear_payload();
  traced.traced = true;
  tracer.Mark(traced.message.id());
  for (const auto& c : response.causes()) tracer.Mark(c.id());
  rpc = tracer.Expand(traced, response, 0);
  if (!rpc.ok()) return session.RpcFailure(rpc);

  Output& out = session.output();
  if (out.json()) {
    std::string causes;
    for (int i = 0; i < response.causes_size(); ++i) {
      v1::Message c = response.causes(i);
      c.clear_payload();
      causes += (i ? "," : "") + MessageToJson(c);
    }
    out.out() << "{\"causes\":[" << causes << "],\"tree\":" << NodeJson(traced)
              << ",\"truncated\":" << (tracer.truncated() ? "true" : "false") << "}\n";
    return CommandStatus::Ok();
  }
  // Causes come parent first; the tree starts at the oldest ancestor, each
  // cause with the next as its only child, down to the traced message.
  TraceNode root = std::move(traced);
  for (const auto& cause : response.causes()) {
    TraceNode parent;
    parent.message = cause;
    parent.children.push_back(std::move(root));
    root = std::move(parent);
  }
  const bool unicode = session.options().terminal;
  std::ostringstream s;
  Render(root, "", true, true, out, unicode, s);
  out.out() << s.str();
  if (tracer.truncated()) {
    out.out() << out.Paint("-- the trace stops at " + std::to_string(kMaxDepth) +
                               " levels and " + std::to_string(kMaxNodes) +
                               " messages; trace a message further down to see more --",
                           Style::kDim)
              << "\n";
  }
  return CommandStatus::Ok();
}

}  // namespace

void RegisterTraceCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "trace",
      .synopsis = "ID",
      .summary = "a message's lineage as a tree: causes, effects, reflowed copies",
      .help = "Draws the lineage of a message: the chain of messages that caused it\n"
              "(oldest first), the message itself (marked \"traced\"), then below it the\n"
              "messages it caused and its reflowed copies, and theirs, recursively. Each\n"
              "line: id, direction, channel, key, outcome (and error); copies say\n"
              "\"(copy, job N)\". The tree goes at most 8 levels down and 200 messages.\n"
              "\n"
              "With --json, prints {\"causes\": [...], \"tree\": {\"message\", \"children\"},\n"
              "\"truncated\"} (messages without payloads).",
      .rpcs = {"GetMessage"},
      .handler = Trace,
  });
}

}  // namespace reprise::console
