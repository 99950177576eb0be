// find FILTER [limit N]: messages, newest first, a page at a time.
#include <algorithm>
#include <charconv>

#include "reprise/console/commands.h"
#include "reprise/console/completion.h"
#include "reprise/console/message_view.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {
namespace {

constexpr size_t kDefaultLimit = 50;   // without a terminal to page on
constexpr uint32_t kMaxPageSize = 1000;  // the API's maximum

CommandStatus Find(Session& session, const TokenizedLine& line) {
  TrailingClause limit_clause = ParseTrailingClause(line, "limit");
  if (!limit_clause.error.empty()) {
    return CommandStatus::Usage("find: " + limit_clause.error + " (find FILTER limit N)");
  }
  size_t limit = 0;  // 0: no limit (page until the person stops)
  if (limit_clause.value) {
    const std::string& v = *limit_clause.value;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), limit);
    if (ec != std::errc() || end != v.data() + v.size() || limit == 0) {
      return CommandStatus::Usage("find: limit must be a positive number, not \"" + v + "\"");
    }
  }
  const std::string filter = line.Span(1, limit_clause.filter_end);
  Output& out = session.output();
  Pager& pager = session.pager();
  const bool paging = pager.interactive() && !out.json();
  if (limit == 0 && !paging) limit = kDefaultLimit;

  v1::ListMessagesRequest request;
  request.set_filter(filter);
  v1::ListMessagesResponse collected;  // everything shown, when not paging
  size_t shown = 0;
  bool more = false;
  size_t lines_per_row = 1;  // wrapped rows take more: the next page asks for fewer
  while (true) {
    size_t want = paging ? std::max<size_t>(1, pager.page_rows() / lines_per_row) : kMaxPageSize;
    if (limit != 0) want = std::min(want, limit - shown);
    request.set_page_size(static_cast<uint32_t>(std::min<size_t>(want, kMaxPageSize)));
    v1::ListMessagesResponse page;
    grpc::Status rpc = session.agent().ListMessages(request, &page);
    if (!rpc.ok()) return session.RpcFailure(rpc);
    shown += static_cast<size_t>(page.messages_size());
    more = !page.next_page_token().empty();
    if (paging) {
      if (page.messages_size() > 0) {
        Table table = MessageTable();
        for (const auto& m : page.messages()) AddMessageRow(table, m);
        const std::string text = table.Render(out.width(), out);
        const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) - 1;
        const size_t rows = static_cast<size_t>(page.messages_size());
        lines_per_row = std::max(lines_per_row, (lines + rows - 1) / rows);
        out.out() << text << std::flush;
      }
    } else {
      for (auto& m : *page.mutable_messages()) *collected.add_messages() = std::move(m);
      collected.set_next_page_token(page.next_page_token());
    }
    if (!more || page.messages_size() == 0 || (limit != 0 && shown >= limit)) break;
    if (paging && !pager.Continue(shown)) return CommandStatus::Ok();
    request.set_page_token(page.next_page_token());
  }

  if (out.json()) {
    session.PrintJson(collected);
    return CommandStatus::Ok();
  }
  if (!paging && collected.messages_size() > 0) {
    Table table = MessageTable();
    for (const auto& m : collected.messages()) AddMessageRow(table, m);
    out.out() << table.Render(out.width(), out);
  }
  if (shown == 0) {
    out.out() << "no messages match\n";
  } else if (more) {
    std::string again = "find " + (filter.empty() ? "" : filter + " ") + "limit " +
                        std::to_string(std::max<size_t>(shown * 4, 200));
    out.out() << out.Paint("-- " + std::to_string(shown) + " shown, more match; to see more: " +
                               again + " --",
                           Style::kDim)
              << "\n";
  }
  return CommandStatus::Ok();
}

}  // namespace

void RegisterFindCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "find",
      .synopsis = "[FILTER] [limit N]",
      .summary = "list messages matching a filter, newest first",
      .help = "Lists matching messages, newest first: id, recorded time (UTC, ms),\n"
              "direction, channel, key, outcome and error. The table fits the terminal\n"
              "by cutting the widest columns (never the id).\n"
              "\n"
              "On a terminal, results come a screenful at a time: Enter shows the next\n"
              "page, q stops. Elsewhere (pipes, -c, scripts) the first 50 are printed,\n"
              "followed by a line saying how to see more. `limit N` at the end sets how\n"
              "many to show in total.\n"
              "\n"
              "The filter is passed to the agent as written; see \"help filter\".\n"
              "\n"
              "Examples:\n"
              "  find outcome = failed\n"
              "  find channel = \"payments.received\" and recorded > -2h limit 500\n"
              "  find key ~ \"account:4*\" or error ~ \"timeout\"\n"
              "\n"
              "With --json, prints {\"messages\": [...], \"next_page_token\": ...}.",
      .rpcs = {"ListMessages"},
      .handler = Find,
      .completer =
          [](const CompletionRequest& request) {
            TokenizedLine args = Tokenize(request.args_before_word);
            if (!args.tokens.empty() && !args.tokens.back().quoted &&
                args.tokens.back().text == "limit") {
              return std::vector<std::string>{};
            }
            return CompleteFilter(request.args_before_word, request.vocabulary, {"limit"});
          },
  });
}

}  // namespace reprise::console
