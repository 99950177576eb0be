// flows, flow show NAME, flow set NAME ...: named switches with variants.
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {
namespace {

std::string Percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", p);
  return buf;
}

std::string Rollout(const v1::Flow& f) {
  if (!f.has_rollout() || f.rollout().percent() <= 0) return "-";
  return f.rollout().variant() + " to " + Percent(f.rollout().percent()) + " of keys";
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string When(const google::protobuf::Timestamp& t) {
  return FormatTimestamp(t.seconds(), t.nanos());
}

CommandStatus Flows(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 1) return CommandStatus::Usage("usage: flows");
  v1::ListFlowsResponse response;
  grpc::Status rpc = session.agent().ListFlows(&response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  session.RefreshFlows();
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(response);
    return CommandStatus::Ok();
  }
  if (response.flows().empty()) {
    out.out() << "no flows\n";
    return CommandStatus::Ok();
  }
  Table table({{.header = "name", .shrinkable = false},
               {.header = "variants", .min_width = 8},
               {.header = "default", .shrinkable = false},
               {.header = "rollout", .min_width = 8},
               {.header = "assignments", .align = Table::Align::kRight, .shrinkable = false},
               {.header = "version", .align = Table::Align::kRight, .shrinkable = false},
               {.header = "updated (UTC)", .min_width = 11, .shrink_last = true},
               {.header = "by", .min_width = 6},
               {.header = "here", .shrinkable = false}});
  for (const auto& f : response.flows()) {
    table.AddRow({{f.name()},
                  {Join(f.variants())},
                  {f.default_variant()},
                  {Rollout(f)},
                  {std::to_string(f.assignments())},
                  {std::to_string(f.version())},
                  {When(f.updated_at())},
                  {f.updated_by()},
                  {f.declared_here() ? "yes" : "-"}});
  }
  out.out() << table.Render(out.width(), out);
  return CommandStatus::Ok();
}

CommandStatus FlowShow(Session& session, const std::string& name) {
  v1::GetFlowRequest request;
  request.set_name(name);
  request.set_page_size(50);
  request.set_history(20);
  v1::GetFlowResponse response;
  grpc::Status rpc = session.agent().GetFlow(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(response);
    return CommandStatus::Ok();
  }
  const v1::Flow& f = response.flow();
  auto field = [&](const char* label, const std::string& value) {
    std::string l = label;
    l.resize(14, ' ');
    out.out() << l << SanitizeForTerminal(value) << "\n";
  };
  field("flow", f.name());
  field("variants", Join(f.variants()));
  field("default", f.default_variant());
  field("rollout", Rollout(f));
  field("assignments", std::to_string(f.assignments()));
  field("version", std::to_string(f.version()));
  field("updated", When(f.updated_at()) + " UTC by " + (f.updated_by().empty() ? "-" : f.updated_by()));
  field("reason", f.reason().empty() ? "-" : f.reason());
  field("declared here", f.declared_here() ? "yes" : "no");
  out.out() << "\n" << out.Paint("assignments (" + std::to_string(f.assignments()) + ")", Style::kBold)
            << "\n";
  if (response.assignments().empty()) {
    out.out() << "  none\n";
  } else {
    Table table({{.header = "key"}, {.header = "variant", .shrinkable = false}});
    for (const auto& a : response.assignments()) table.AddRow({{a.key()}, {a.variant()}});
    out.out() << table.Render(out.width(), out, 2);
    if (!response.next_page_token().empty()) {
      out.out() << "  " << out.Paint("-- first " + std::to_string(response.assignments_size()) +
                                         " shown (--json flow show gives the page token) --",
                                     Style::kDim)
                << "\n";
    }
  }
  out.out() << "\n" << out.Paint("history (newest first)", Style::kBold) << "\n";
  if (response.history().empty()) {
    out.out() << "  none\n";
  } else {
    Table table({{.header = "version", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "at (UTC)", .min_width = 11, .shrink_last = true},
                 {.header = "who", .min_width = 6},
                 {.header = "reason", .min_width = 6},
                 {.header = "change", .min_width = 10}});
    for (const auto& c : response.history()) {
      table.AddRow({{std::to_string(c.version())}, {When(c.at())}, {c.who()}, {c.reason()},
                    {c.change()}});
    }
    out.out() << table.Render(out.width(), out, 2);
  }
  return CommandStatus::Ok();
}

CommandStatus FlowSet(Session& session, const TokenizedLine& line) {
  const auto& t = line.tokens;
  if (t.size() < 4) {
    return CommandStatus::Usage(
        "usage: flow set NAME [default=V] [rollout=V:PERCENT] [KEY=V ...] [unassign=KEY ...] "
        "[reason TEXT]");
  }
  v1::SetFlowRequest request;
  request.set_flow(t[2].text);
  std::vector<std::string> changes;
  for (size_t i = 3; i < t.size(); ++i) {
    const std::string& w = t[i].text;
    if (!t[i].quoted && w == "reason") {
      if (i + 1 >= t.size()) return CommandStatus::Usage("flow set: reason needs a text");
      std::string reason;
      for (size_t k = i + 1; k < t.size(); ++k) reason += (reason.empty() ? "" : " ") + t[k].text;
      request.set_reason(reason);
      break;
    }
    size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) {
      return CommandStatus::Usage("flow set: expected default=V, rollout=V:PERCENT, KEY=V, "
                                  "unassign=KEY or reason TEXT, not \"" +
                                  SanitizeForTerminal(w) + "\"");
    }
    std::string key = w.substr(0, eq), value = w.substr(eq + 1);
    if (key == "default") {
      request.set_default_variant(value);
      changes.push_back("default " + value);
    } else if (key == "rollout") {
      size_t colon = value.rfind(':');
      char* end = nullptr;
      double percent = colon == std::string::npos ? -1 : std::strtod(value.c_str() + colon + 1, &end);
      if (colon == std::string::npos || end == value.c_str() + colon + 1 || *end != '\0' ||
          !(percent >= 0 && percent <= 100)) {
        return CommandStatus::Usage("flow set: rollout=VARIANT:PERCENT (0..100), not \"" +
                                    SanitizeForTerminal(value) + "\"");
      }
      request.mutable_rollout()->set_variant(value.substr(0, colon));
      request.mutable_rollout()->set_percent(percent);
      changes.push_back(percent == 0 ? std::string("no rollout")
                                     : "rollout " + value.substr(0, colon) + " to " +
                                           Percent(percent) + " of keys");
    } else if (key == "unassign") {
      request.add_unassign(value);
      changes.push_back("unassign " + value);
    } else {
      (*request.mutable_assign())[key] = value;
      changes.push_back(key + " -> " + value);
    }
  }
  if (changes.empty()) return CommandStatus::Usage("flow set: nothing to change");
  std::string summary;
  for (const auto& c : changes) summary += (summary.empty() ? "" : ", ") + c;
  Output& out = session.output();
  if (!session.Confirm("Change flow " + SanitizeForTerminal(request.flow()) + ": " +
                       SanitizeForTerminal(summary) + "?")) {
    out.out() << "not changed\n";
    return CommandStatus::Ok();
  }
  v1::SetFlowResponse response;
  grpc::Status rpc = session.agent().SetFlow(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  session.RefreshFlows();
  if (out.json()) {
    session.PrintJson(response);
    return CommandStatus::Ok();
  }
  const v1::Flow& f = response.flow();
  out.out() << "flow " << SanitizeForTerminal(f.name()) << " is now version " << response.version()
            << ": default " << SanitizeForTerminal(f.default_variant()) << ", rollout "
            << SanitizeForTerminal(Rollout(f)) << ", " << f.assignments()
            << (f.assignments() == 1 ? " assignment" : " assignments") << "\n";
  return CommandStatus::Ok();
}

CommandStatus Flow(Session& session, const TokenizedLine& line) {
  const auto& t = line.tokens;
  if (t.size() == 3 && t[1].text == "show") return FlowShow(session, t[2].text);
  if (t.size() >= 2 && t[1].text == "set") return FlowSet(session, line);
  return CommandStatus::Usage("usage: flow show NAME | flow set NAME [default=V] "
                              "[rollout=V:PERCENT] [KEY=V ...] [unassign=KEY ...] [reason TEXT]");
}

std::vector<std::string> CompleteFlow(const CompletionRequest& request) {
  const auto& flows = request.vocabulary.flows;
  TokenizedLine args = Tokenize(request.args_before_word);
  std::vector<std::string> out;
  const auto& t = args.tokens;
  if (t.empty()) return {"show", "set"};
  if (t.size() == 1 && (t[0].text == "show" || t[0].text == "set")) {
    for (const auto& [name, unused] : flows) out.push_back(name);
    return out;
  }
  if (t[0].text != "set" || t.size() < 2) return out;
  auto flow = flows.find(t[1].text);
  std::string_view before = request.args_before_word;
  if (!before.empty() && before.back() == '=') {
    // A variant after default=, rollout= or KEY= (not after unassign=).
    const std::string& last = t.back().text;
    if (last == "unassign=" || flow == flows.end()) return out;
    out = flow->second;
    if (last == "rollout=") {
      for (auto& v : out) v += ":";
    }
    return out;
  }
  for (const auto& t2 : t) {
    if (t2.text == "reason") return out;
  }
  return {"default=", "rollout=", "unassign=", "reason"};
}

}  // namespace

void RegisterFlowCommands(CommandRegistry& registry) {
  registry.Add({
      .name = "flows",
      .summary = "the flows (switches with variants) and how they are set",
      .help = "Lists every flow the journal knows: variants, default, rollout, number of\n"
              "per-key assignments, version, when and by whom it last changed, and\n"
              "whether this agent's code declares it. See docs/flows.md.\n"
              "\n"
              "With --json, prints the ListFlowsResponse.",
      .rpcs = {"ListFlows"},
      .handler = Flows,
  });
  registry.Add({
      .name = "flow",
      .synopsis = "show NAME | set NAME [default=V] [rollout=V:PERCENT] [KEY=V ...] "
                  "[unassign=KEY ...] [reason TEXT]",
      .summary = "show one flow, or change its default, rollout or assignments",
      .help = "flow show NAME: the flow, its per-key assignments (first 50) and its\n"
              "recent history.\n"
              "\n"
              "flow set NAME ...: one new version with the changes given:\n"
              "  default=V           the variant for keys without assignment or rollout\n"
              "  rollout=V:PERCENT   V for that share of keys (stable per key); :0 clears\n"
              "  KEY=V               assign a key (account:42=v2)\n"
              "  unassign=KEY        a key back to rollout/default\n"
              "  reason TEXT         the rest of the line, for the history and audit\n"
              "Asks for confirmation on a terminal unless --yes; prints the new version.\n"
              "Running agents use it within a second.\n"
              "\n"
              "With --json, prints the GetFlowResponse / SetFlowResponse.\n"
              "\n"
              "Examples:\n"
              "  flow show ledger.rounding\n"
              "  flow set ledger.rounding rollout=v2:10 reason canary for the new rounding\n"
              "  flow set ledger.rounding account:42=v2 default=v1",
      .rpcs = {"GetFlow", "SetFlow", "ListFlows"},
      .handler = Flow,
      .completer = CompleteFlow,
  });
}

}  // namespace reprise::console
