#include "reprise/console/shell.h"

#include <cstdio>

#include "reprise/console/format.h"
#include "reprise/console/terminal.h"

namespace reprise::console {

CommandStatus Shell::Execute(std::string_view line) {
  CommandStatus last;
  std::vector<std::string> commands = SplitCommands(line);
  for (size_t i = 0; i < commands.size(); ++i) {
    // A blank line between the outputs of `status; find ...` (not in JSON:
    // there, one document per line).
    if (i > 0 && !session_.output().json()) session_.output().out() << "\n";
    last = ExecuteOne(commands[i]);
    if (!last.ok()) Report(last);
    if (!last.ok() || last.code == CommandCode::kQuit) break;
  }
  session_.output().out().flush();
  return last;
}

CommandStatus Shell::ExecuteOne(const std::string& text) {
  // The agent's API carries text as protobuf strings, which must be UTF-8:
  // refuse here with the place, rather than as a serialization failure.
  if (size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "\\x%02x", static_cast<unsigned char>(text[bad]));
    return CommandStatus::Usage("input is not valid UTF-8 at byte " + std::to_string(bad + 1) +
                                " (" + byte +
                                "); type it again, or set the terminal to UTF-8 (LANG=C.UTF-8)");
  }
  TokenizedLine line = Tokenize(text);
  if (!line.ok()) return CommandStatus::Usage(line.error);
  if (line.tokens.empty()) return CommandStatus::Ok();
  const std::string& name = line.tokens[0].text;
  const Command* command = session_.registry().Find(name);
  if (command == nullptr) {
    std::string message = "unknown command \"" + SanitizeForTerminal(name) + "\"";
    std::string suggestion = session_.registry().Suggest(name);
    if (!suggestion.empty()) message += "; did you mean \"" + suggestion + "\"?";
    return CommandStatus::Usage(message + " (type help for the list)");
  }
  if (command->needs_agent) {
    CommandStatus connected = session_.Connect();
    if (!connected.ok()) return connected;
  }
  return session_.Run(*command, line);
}

void Shell::Report(const CommandStatus& status) {
  Output& out = session_.output();
  out.out().flush();  // keep stdout and stderr in order on a terminal
  out.err() << out.Paint(status.message, Style::kRed) << std::endl;
  if (out.json()) {
    std::string code = status.rpc_code;
    if (code.empty()) {
      code = status.code == CommandCode::kUsage ? "USAGE"
             : status.code == CommandCode::kUnreachable ? "UNAVAILABLE"
                                                         : "FAILED";
    }
    out.out() << "{\"error\":{\"code\":" << JsonQuote(code)
              << ",\"message\":" << JsonQuote(status.message) << "}}\n";
  }
}

int Shell::RunCommands(std::string_view text) { return ExitCode(Execute(text)); }

int Shell::RunScript(LineReader& reader) {
  while (auto command = ReadCommand(reader, "", "")) {
    if (IsBlankOrComment(*command)) continue;
    CommandStatus status = Execute(*command);
    if (status.code == CommandCode::kQuit) return 0;
    if (!status.ok()) return ExitCode(status);
  }
  return 0;
}

int Shell::RunInteractive(LineReader& reader) {
  Output& out = session_.output();
  std::string prompt = "reprise> ";
  if (session_.connected() && !session_.describe().service().empty()) {
    prompt = SanitizeForTerminal(session_.describe().service()) + "> ";
  }
  std::string continuation(prompt.size() > 4 ? prompt.size() - 4 : 0, ' ');
  continuation += "... ";
  while (true) {
    out.set_width(CurrentTerminalWidth());  // the terminal may have been resized
    auto command = ReadCommand(reader, prompt, continuation);
    if (!command) {
      out.out() << "\n";  // Ctrl-D leaves the cursor after the prompt
      break;
    }
    if (IsBlankOrComment(*command)) continue;
    reader.AddHistory(*command);
    if (Execute(*command).code == CommandCode::kQuit) break;
  }
  out.out().flush();
  return 0;
}

Completion Shell::CompleteLine(std::string_view line_before_cursor) const {
  return Complete(session_.registry(), session_.vocabulary(), line_before_cursor);
}

}  // namespace reprise::console
