// The one list of console commands. Everything that needs to know which
// commands exist (dispatch, `help`, completion of command names) and which
// change state (their help, whether they may ask for confirmation) reads it
// from here. What changes state is not kept here: each command names the API
// methods it calls, and agent.proto's `access` option on those says.
//
// Adding a command is one Add() call:
//
//   registry.Add({.name = "jobs",
//                 .synopsis = "[FILTER]",
//                 .summary = "list reflow jobs",
//                 .help = "Lists jobs, newest first...",
//                 .rpcs = {"ListJobs"},
//                 .handler = [](Session& s, const TokenizedLine& line) { ... }});
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/console/tokenizer.h"

namespace reprise::console {

class Session;

// How a command ended. The console's exit status follows from it.
enum class CommandCode {
  kOk,           // exit 0
  kFailed,       // exit 1: the command ran and failed (agent error, not found)
  kUsage,        // exit 2: the command was written wrongly
  kUnreachable,  // exit 3: the agent could not be reached
  kQuit,         // `quit`: stop reading commands (exit 0)
};

struct CommandStatus {
  CommandCode code = CommandCode::kOk;
  std::string message;  // for people; empty when OK
  std::string rpc_code; // "INVALID_ARGUMENT" when the agent returned the error

  bool ok() const { return code == CommandCode::kOk || code == CommandCode::kQuit; }
  static CommandStatus Ok() { return {}; }
  static CommandStatus Failed(std::string message) {
    return {CommandCode::kFailed, std::move(message), ""};
  }
  static CommandStatus Usage(std::string message) {
    return {CommandCode::kUsage, std::move(message), ""};
  }
};

// Exit status for a status: 0, 1, 2 or 3 as documented in docs/console.md.
int ExitCode(const CommandStatus& status);

// What completion knows about the agent: filter fields and keywords, channel
// names, and the values worth offering after `FIELD =`. Built once from the
// agent's Describe response. A plain value.
struct Vocabulary {
  struct Field {
    std::string name;         // "channel", or "header." for a prefix field
    std::string description;
    bool is_prefix = false;
  };
  std::vector<Field> fields;
  std::vector<std::string> keywords;  // and, or, not, in, ...
  std::vector<std::string> channels;
  // field -> completions offered as its value (channels quoted).
  std::map<std::string, std::vector<std::string>> values;

  // Knobs with their arguments (ListKnobs, fetched when the console connects).
  struct KnobArg {
    std::string name;
    std::vector<std::string> values;  // enum arguments: the allowed values
  };
  std::map<std::string, std::vector<KnobArg>> knobs;
  // Flow name -> variants (Describe.flows and ListFlows).
  std::map<std::string, std::vector<std::string>> flows;
  // Deriver names (Describe.derivers), for rederive.
  std::vector<std::string> derivers;
  // Current job ids, asked for when needed (empty function: none known).
  std::function<std::vector<std::string>()> job_ids;
};

// What an argument completer gets: the arguments before the word under the
// cursor (as typed) and that partial word.
struct CompletionRequest {
  std::string_view args_before_word;
  std::string_view word;
  const Vocabulary& vocabulary;
};

// Runs a command. `line.tokens[0]` is the command name.
using CommandHandler = std::function<CommandStatus(Session& session, const TokenizedLine& line)>;
// Candidates for the word under the cursor; the caller filters by prefix.
using ArgumentCompleter = std::function<std::vector<std::string>(const CompletionRequest&)>;

struct Command {
  std::string name;
  std::string synopsis;  // arguments, e.g. "FILTER [by FIELD]"
  std::string summary;   // one line, for `help`
  std::string help;      // paragraphs, for `help NAME`
  // The API methods it calls ("ListJobs"), as agent.proto names them.
  std::vector<std::string> rpcs;
  // Changes state: set by Add() when one of `rpcs` is a method that mutates
  // (reprise/v1/access.h). Such a command's help says so, and it may ask for
  // confirmation (Session::Confirm).
  bool mutates = false;
  bool needs_agent = true;
  std::vector<std::string> aliases;
  CommandHandler handler;
  ArgumentCompleter completer;  // may be empty: no argument completion
};

// Not thread-safe to modify; read-only use after start-up is safe from any
// thread.
class CommandRegistry {
 public:
  // Registers a command. A duplicate name or alias, or an RPC agent.proto
  // does not have, is a programming error and aborts, so that it shows in
  // the first test run.
  void Add(Command command);

  // The command named `name` (or aliased), or nullptr.
  const Command* Find(std::string_view name) const;
  // In registration order (the order `help` lists them).
  const std::vector<Command>& commands() const { return commands_; }
  // Names and aliases, sorted (for completion).
  std::vector<std::string> Names() const;

  // `help` without arguments: a row per command (synopsis and summary),
  // laid out to `width` columns.
  std::string Overview(size_t width) const;
  // `help NAME`; empty when there is no such command.
  std::string HelpFor(std::string_view name) const;
  // Closest command name to a misspelling (or "" when nothing is close).
  std::string Suggest(std::string_view name) const;

 private:
  std::vector<Command> commands_;
};

}  // namespace reprise::console
