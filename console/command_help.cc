// help and quit.
#include <cctype>
#include <sstream>

#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {
namespace {

constexpr char kFilterTopic[] = "filter";

// "header.NAME" for the prefix field "header.": the placeholder is taken
// from the agent's description when it starts with one ("header.NAME: ...").
std::string PrefixFieldSyntax(const Vocabulary::Field& f) {
  const std::string& d = f.description;
  if (d.rfind(f.name, 0) == 0) {
    size_t end = f.name.size();
    while (end < d.size() && (std::isupper(static_cast<unsigned char>(d[end])) || d[end] == '_')) {
      ++end;
    }
    if (end > f.name.size()) return d.substr(0, end);
  }
  return f.name + "NAME";
}

// `help filter`: the language, with the fields the connected agent knows.
std::string FilterHelp(Session& session) {
  std::string out =
      "The filter language selects messages (find, count, reflow, export):\n"
      "\n"
      "  channel = \"payments.received\" and outcome = failed and recorded > -2h\n"
      "  key ~ \"account:4*\" or error ~ \"timeout\"\n"
      "  direction = out and payload.amount > 100\n"
      "  outcome in (failed, skipped) and not header.tenant = \"acme\"\n"
      "\n"
      "Operators: = != < <= > >= ~ (glob/contains), and, or, not, parentheses, in (...).\n"
      "Times: absolute RFC 3339 or relative (-2h, -7d). Quote values with spaces or operator characters.\n";
  if (!session.Connect().ok()) {
    return out + "\n(connect to an agent to list its fields)\n";
  }
  Table table({{.header = "field", .shrinkable = false}, {.header = "meaning"}});
  for (const auto& f : session.vocabulary().fields) {
    table.AddRow({{f.is_prefix ? PrefixFieldSyntax(f) : f.name}, {f.description}});
  }
  out += "\nFields:\n" + table.Render(session.output().width());
  return out;
}

CommandStatus Help(Session& session, const TokenizedLine& line) {
  const CommandRegistry& registry = session.registry();
  Output& out = session.output();
  if (line.tokens.size() > 2) return CommandStatus::Usage("usage: help [COMMAND|filter]");
  if (line.tokens.size() == 2 && line.tokens[1].text != kFilterTopic &&
      registry.Find(line.tokens[1].text) == nullptr) {
    const std::string& topic = line.tokens[1].text;
    std::string message = "help: no command \"" + SanitizeForTerminal(topic) + "\"";
    std::string suggestion = registry.Suggest(topic);
    if (!suggestion.empty()) message += "; did you mean \"" + suggestion + "\"?";
    return CommandStatus::Usage(message);
  }
  if (out.json() && line.tokens.size() == 2 && line.tokens[1].text == kFilterTopic) {
    CommandStatus connected = session.Connect();
    if (!connected.ok()) return connected;
    out.out() << "{\"filter_fields\":[";
    const auto& fields = session.vocabulary().fields;
    for (size_t i = 0; i < fields.size(); ++i) {
      out.out() << (i ? "," : "") << "{\"name\":" << JsonQuote(fields[i].name)
                << ",\"description\":" << JsonQuote(fields[i].description)
                << ",\"is_prefix\":" << (fields[i].is_prefix ? "true" : "false") << "}";
    }
    out.out() << "],\"filter_keywords\":[";
    const auto& keywords = session.vocabulary().keywords;
    for (size_t i = 0; i < keywords.size(); ++i) {
      out.out() << (i ? "," : "") << JsonQuote(keywords[i]);
    }
    out.out() << "]}\n";
    return CommandStatus::Ok();
  }
  if (out.json()) {
    // The registry as data: what a wrapper script needs to know about commands.
    out.out() << "{\"commands\":[";
    bool first = true;
    for (const auto& c : registry.commands()) {
      if (line.tokens.size() == 2 && registry.Find(line.tokens[1].text) != &c) continue;
      out.out() << (first ? "" : ",") << "{\"name\":" << JsonQuote(c.name)
                << ",\"synopsis\":" << JsonQuote(c.synopsis) << ",\"summary\":"
                << JsonQuote(c.summary) << ",\"help\":" << JsonQuote(c.help)
                << ",\"mutates\":" << (c.mutates ? "true" : "false") << ",\"aliases\":[";
      for (size_t i = 0; i < c.aliases.size(); ++i) {
        out.out() << (i ? "," : "") << JsonQuote(c.aliases[i]);
      }
      out.out() << "]}";
      first = false;
    }
    out.out() << "]}\n";
    return CommandStatus::Ok();
  }
  if (line.tokens.size() == 1) {
    out.out() << registry.Overview(out.width()) << "Type \"help filter\" for the filter language.\n";
    return CommandStatus::Ok();
  }
  const std::string& topic = line.tokens[1].text;
  if (topic == kFilterTopic) {
    out.out() << WrapText(FilterHelp(session), out.width());
    return CommandStatus::Ok();
  }
  out.out() << WrapText(registry.HelpFor(topic), out.width());
  return CommandStatus::Ok();
}

}  // namespace

void RegisterHelpCommands(CommandRegistry& registry) {
  registry.Add({
      .name = "help",
      .synopsis = "[COMMAND|filter]",
      .summary = "list commands, or explain one command or the filter language",
      .help = "help            a row per command, laid out to the terminal width\n"
              "help find       usage, details and examples of a command\n"
              "help filter     the filter language and the agent's fields\n"
              "\n"
              "With --json, prints the command list as JSON.",
      .needs_agent = false,
      .aliases = {"?"},
      .handler = Help,
      .completer =
          [&registry](const CompletionRequest& request) {
            std::vector<std::string> out;
            if (!Tokenize(request.args_before_word).tokens.empty()) return out;
            out = registry.Names();
            out.push_back(kFilterTopic);
            return out;
          },
  });
  registry.Add({
      .name = "quit",
      .summary = "leave the console (also: exit, Ctrl-D)",
      .needs_agent = false,
      .aliases = {"exit"},
      .handler = [](Session&, const TokenizedLine&) {
        return CommandStatus{CommandCode::kQuit, "", ""};
      },
  });
}

}  // namespace reprise::console
