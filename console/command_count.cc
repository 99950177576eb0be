// count [FILTER] [by FIELD]: how many messages match, optionally per group.
#include "reprise/console/commands.h"
#include "reprise/console/completion.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {
namespace {

std::string Share(uint64_t part, uint64_t total) {
  if (total == 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(part) /
                                               static_cast<double>(total));
  return buf;
}

CommandStatus Count(Session& session, const TokenizedLine& line) {
  TrailingClause by = ParseTrailingClause(line, "by");
  if (!by.error.empty()) {
    return CommandStatus::Usage("count: " + by.error + " (count FILTER by FIELD)");
  }
  v1::CountMessagesRequest request;
  request.set_filter(line.Span(1, by.filter_end));
  if (by.value) request.set_group_by(*by.value);
  v1::CountMessagesResponse response;
  grpc::Status rpc = session.agent().CountMessages(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(response);
    return CommandStatus::Ok();
  }
  if (!by.value) {
    out.out() << response.total() << (response.total() == 1 ? " message" : " messages")
              << " match\n";
    return CommandStatus::Ok();
  }
  Table table({{.header = *by.value},
               {.header = "count", .align = Table::Align::kRight, .shrinkable = false},
               {.header = "share", .align = Table::Align::kRight, .shrinkable = false}});
  for (const auto& g : response.groups()) {
    table.AddRow({{g.value().empty() ? "(none)" : g.value()},
                  {std::to_string(g.count())},
                  {Share(g.count(), response.total())}});
  }
  table.AddRow({{"total", Style::kBold}, {std::to_string(response.total()), Style::kBold}, {""}});
  out.out() << table.Render(out.width(), out);
  return CommandStatus::Ok();
}

}  // namespace

void RegisterCountCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "count",
      .synopsis = "[FILTER] [by FIELD]",
      .summary = "count matching messages, optionally grouped by a field",
      .help = "Counts the messages that match the filter (all messages without one).\n"
              "`by FIELD` at the end groups the count by a filter field (channel,\n"
              "outcome, key, header.NAME, ...) and prints one row per value with its\n"
              "share, then the total.\n"
              "\n"
              "Examples:\n"
              "  count outcome = failed\n"
              "  count recorded > -1h by channel\n"
              "  count channel = \"balance.updated\" by outcome\n"
              "\n"
              "With --json, prints {\"groups\": [{\"value\", \"count\"}...], \"total\"}.",
      .rpcs = {"CountMessages"},
      .handler = Count,
      .completer =
          [](const CompletionRequest& request) {
            TokenizedLine args = Tokenize(request.args_before_word);
            if (!args.tokens.empty() && !args.tokens.back().quoted &&
                args.tokens.back().text == "by") {
              return FieldNames(request.vocabulary);
            }
            auto out = CompleteFilter(request.args_before_word, request.vocabulary, {"by"});
            if (args.tokens.empty()) out.push_back("by");  // `count by channel`
            return out;
          },
  });
}

}  // namespace reprise::console
