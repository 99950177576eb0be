// Runs console commands: one line, a script on standard input, or the
// interactive prompt.
#pragma once

#include <string>
#include <string_view>

#include "reprise/console/command_registry.h"
#include "reprise/console/line_reader.h"
#include "reprise/console/session.h"

namespace reprise::console {

// Parses lines, finds commands in the registry, connects when a command
// needs the agent, runs the handler and reports failures (stderr, plus a
// JSON error object on stdout with --json). Not thread-safe.
class Shell {
 public:
  explicit Shell(Session& session) : session_(session) {}

  // Runs the commands of one line (separated by `;`), stopping at the first
  // that fails. Failures are printed before returning.
  CommandStatus Execute(std::string_view line);

  // `-c "cmd; cmd"`: the exit status of the run.
  int RunCommands(std::string_view text);
  // Commands from a non-interactive reader (stdin): one per line, blank
  // lines and `#` comments skipped; stops at the first failure.
  int RunScript(LineReader& reader);
  // The prompt: errors print and the shell goes on; `quit` or Ctrl-D end it.
  int RunInteractive(LineReader& reader);

  // What Tab offers for the line before the cursor.
  Completion CompleteLine(std::string_view line_before_cursor) const;

 private:
  CommandStatus ExecuteOne(const std::string& command);
  void Report(const CommandStatus& status);

  Session& session_;
};

}  // namespace reprise::console
