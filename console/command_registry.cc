#include "reprise/console/command_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "reprise/base/did_you_mean.h"
#include "reprise/console/table.h"
#include "reprise/v1/access.h"

namespace reprise::console {

int ExitCode(const CommandStatus& status) {
  switch (status.code) {
    case CommandCode::kOk:
    case CommandCode::kQuit: return 0;
    case CommandCode::kFailed: return 1;
    case CommandCode::kUsage: return 2;
    case CommandCode::kUnreachable: return 3;
  }
  return 1;
}

void CommandRegistry::Add(Command command) {
  std::vector<std::string> names = command.aliases;
  names.push_back(command.name);
  for (const auto& n : names) {
    if (n.empty() || Find(n) != nullptr || !command.handler) {
      std::fprintf(stderr, "reprise: bad or duplicate console command \"%s\"\n", n.c_str());
      std::abort();
    }
  }
  for (const auto& rpc : command.rpcs) {
    const auto* method = AgentServiceDescriptor().FindMethodByName(rpc);
    if (method == nullptr) {
      std::fprintf(stderr, "reprise: console command \"%s\" calls %s, which agent.proto lacks\n",
                   command.name.c_str(), rpc.c_str());
      std::abort();
    }
    command.mutates = command.mutates || Mutates(*method);
  }
  commands_.push_back(std::move(command));
}

const Command* CommandRegistry::Find(std::string_view name) const {
  for (const auto& c : commands_) {
    if (c.name == name) return &c;
    for (const auto& a : c.aliases) {
      if (a == name) return &c;
    }
  }
  return nullptr;
}

std::vector<std::string> CommandRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& c : commands_) {
    names.push_back(c.name);
    names.insert(names.end(), c.aliases.begin(), c.aliases.end());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string CommandRegistry::Overview(size_t width) const {
  Table table({{.header = ""}, {.header = "", .min_width = 20}});
  for (const auto& c : commands_) {
    table.AddRow({{c.synopsis.empty() ? c.name : c.name + " " + c.synopsis}, {c.summary}});
  }
  return "Commands:\n" + table.Render(width, 2) +
         "\nType \"help COMMAND\" for details and examples.\n";
}

std::string CommandRegistry::HelpFor(std::string_view name) const {
  const Command* c = Find(name);
  if (c == nullptr) return "";
  std::string out = "usage: " + c->name + (c->synopsis.empty() ? "" : " " + c->synopsis) + "\n\n";
  out += c->summary + "\n";
  if (!c->help.empty()) out += "\n" + c->help + (c->help.back() == '\n' ? "" : "\n");
  if (!c->aliases.empty()) {
    out += "\naliases:";
    for (const auto& a : c->aliases) out += " " + a;
    out += "\n";
  }
  if (c->mutates) {
    // Named by method, so that `flow show` is not said to change state
    // because `flow set` does.
    std::vector<std::string> mutating;
    for (const auto& rpc : c->rpcs) {
      if (Mutates(*AgentServiceDescriptor().FindMethodByName(rpc))) mutating.push_back(rpc);
    }
    std::string which;
    for (size_t i = 0; i < mutating.size(); ++i) {
      which += (i == 0 ? "" : i + 1 == mutating.size() ? " and " : ", ") + mutating[i];
    }
    out += "\n" +
           (mutating.empty() ? "This command changes state: the agent records it"
            : mutating.size() == 1
                ? which + " changes state: the agent records each call of it"
                : which + " change state: the agent records each call of them") +
           " in its audit log.\n";
  }
  return out;
}

std::string CommandRegistry::Suggest(std::string_view name) const { return ClosestName(name, Names()); }

}  // namespace reprise::console
