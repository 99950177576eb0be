#include "reprise/console/commands.h"

namespace reprise::console {

void RegisterBuiltinCommands(CommandRegistry& registry) {
  // Registration order is the order of `help`.
  RegisterStatusCommand(registry);
  RegisterFleetCommands(registry);
  RegisterFindCommand(registry);
  RegisterShowCommand(registry);
  RegisterCountCommand(registry);
  RegisterTraceCommand(registry);
  RegisterReflowCommands(registry);
  RegisterExportCommand(registry);
  RegisterKnobCommands(registry);
  RegisterAuditCommand(registry);
  RegisterFlowCommands(registry);
  RegisterDeriveCommands(registry);
  RegisterHelpCommands(registry);
}

TrailingClause ParseTrailingClause(const TokenizedLine& line, std::string_view keyword) {
  TrailingClause clause;
  const auto& t = line.tokens;
  clause.filter_end = t.size();
  auto is_keyword = [&](size_t i) { return !t[i].quoted && t[i].text == keyword; };
  // Token 0 is the command name; a quoted "limit" is a value, not a clause.
  if (t.size() >= 2 && is_keyword(t.size() - 1)) {
    clause.error = std::string(keyword) + " needs a value";
    return clause;
  }
  if (t.size() >= 3 && is_keyword(t.size() - 2)) {
    clause.value = t.back().text;
    clause.filter_end = t.size() - 2;
  }
  return clause;
}

}  // namespace reprise::console
