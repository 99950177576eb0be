// knobs and knob NAME arg=value ...: the operator actions the service registered.
#include <algorithm>
#include <set>

#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {
namespace {

std::string ArgSynopsis(const v1::KnobArgument& a) {
  std::string type = a.type();
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (a.type() == "enum" && !a.values().empty()) {
    type.clear();
    for (const auto& v : a.values()) type += (type.empty() ? "" : "|") + v;
  }
  std::string s = a.name() + "=" + type;
  return a.required() ? s : "[" + s + "]";
}

CommandStatus Knobs(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 1) return CommandStatus::Usage("usage: knobs");
  v1::ListKnobsResponse response;
  grpc::Status rpc = session.agent().ListKnobs(&response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(response);
    return CommandStatus::Ok();
  }
  if (response.knobs().empty()) {
    out.out() << "the service registered no knobs\n";
    return CommandStatus::Ok();
  }
  Table table({{.header = "name", .shrinkable = false},
               {.header = "arguments", .min_width = 10},
               {.header = "mutates", .shrinkable = false},
               {.header = "help", .min_width = 10}});
  for (const auto& k : response.knobs()) {
    std::string args;
    for (const auto& a : k.args()) args += (args.empty() ? "" : " ") + ArgSynopsis(a);
    table.AddRow({{k.name()}, {args.empty() ? "-" : args}, {k.mutates() ? "yes" : "no"},
                  {k.help()}});
  }
  out.out() << table.Render(out.width(), out);
  return CommandStatus::Ok();
}

CommandStatus Knob(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() < 2) return CommandStatus::Usage("usage: knob NAME [ARG=VALUE ...]");
  v1::InvokeKnobRequest request;
  request.set_name(line.tokens[1].text);
  for (size_t i = 2; i < line.tokens.size(); ++i) {
    const std::string& word = line.tokens[i].text;
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return CommandStatus::Usage("knob: arguments are NAME=VALUE, not \"" +
                                  SanitizeForTerminal(word) + "\" (see knobs)");
    }
    (*request.mutable_args())[word.substr(0, eq)] = word.substr(eq + 1);
  }
  if (session.fleet()) return FleetKnob(session, request);
  v1::InvokeKnobResponse response;
  grpc::Status rpc = session.agent().InvokeKnob(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(response);
  } else {
    out.out() << SanitizeForTerminal(response.result()) << "\n";
  }
  return CommandStatus::Ok();
}

std::vector<std::string> CompleteKnob(const CompletionRequest& request) {
  const auto& knobs = request.vocabulary.knobs;
  std::vector<std::string> out;
  TokenizedLine args = Tokenize(request.args_before_word);
  if (args.tokens.empty()) {
    for (const auto& [name, unused] : knobs) out.push_back(name);
    return out;
  }
  auto knob = knobs.find(args.tokens[0].text);
  if (knob == knobs.end()) return out;
  std::string_view before = request.args_before_word;
  const std::string& last = args.tokens.back().text;
  const bool in_value = args.tokens.size() > 1 && !before.empty() && before.back() == '=';
  if (in_value) {
    std::string name = last.substr(0, last.size() - 1);
    for (const auto& a : knob->second) {
      if (a.name == name) return a.values;
    }
    return out;
  }
  std::set<std::string> given;
  for (size_t i = 1; i < args.tokens.size(); ++i) {
    const std::string& t = args.tokens[i].text;
    given.insert(t.substr(0, t.find('=')));
  }
  for (const auto& a : knob->second) {
    if (given.count(a.name) == 0) out.push_back(a.name + "=");
  }
  return out;
}

}  // namespace

void RegisterKnobCommands(CommandRegistry& registry) {
  registry.Add({
      .name = "knobs",
      .summary = "the operator actions the service registered",
      .help = "Lists the service's knobs: name, arguments (NAME=TYPE, optional ones in\n"
              "brackets, enum values separated by |), whether it changes state, and its\n"
              "help. Run one with knob NAME ARG=VALUE ...\n"
              "\n"
              "With --json, prints the ListKnobsResponse.",
      .rpcs = {"ListKnobs"},
      .handler = Knobs,
  });
  registry.Add({
      .name = "knob",
      .synopsis = "NAME [ARG=VALUE ...]",
      .summary = "run a knob with arguments",
      .help = "Runs the knob NAME with the arguments given as NAME=VALUE words (quote a\n"
              "value with spaces: reason=\"new release\"). The agent checks the arguments\n"
              "(missing, unknown, wrong type) and says what it expects; the knob's own\n"
              "report is printed as it is. Tab completes knob names, argument names and\n"
              "enum values.\n"
              "\n"
              "With --json, prints the InvokeKnobResponse.\n"
              "\n"
              "Examples:\n"
              "  knob downstream.set failure_percent=0\n"
              "  knob log.level level=debug",
      .rpcs = {"InvokeKnob"},
      .handler = Knob,
      .completer = CompleteKnob,
  });
}

}  // namespace reprise::console
