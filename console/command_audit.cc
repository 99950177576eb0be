// audit [action=NAME] [who=WHO] [since=-1h|RFC3339] [failed] [limit N]
#include <google/protobuf/util/time_util.h>

#include <charconv>
#include <chrono>

#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"
#include "reprise/v1/access.h"

namespace reprise::console {
bool ParseSince(const std::string& text, google::protobuf::Timestamp* out) {
  if (!text.empty() && text[0] == '-' && text.size() >= 3) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size() - 1, n);
    if (ec != std::errc() || end != text.data() + text.size() - 1 || n < 0) return false;
    int64_t unit = 0;
    switch (text.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: return false;
    }
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    out->set_seconds(now - n * unit);
    return true;
  }
  return google::protobuf::util::TimeUtil::FromString(text, out);
}

namespace {

CommandStatus Audit(Session& session, const TokenizedLine& line) {
  v1::ListAuditRequest request;
  size_t limit = 50;
  const auto& t = line.tokens;
  for (size_t i = 1; i < t.size(); ++i) {
    const std::string& w = t[i].text;
    if (w == "failed") {
      request.set_failed_only(true);
    } else if (w == "limit" && i + 1 < t.size()) {
      auto [end, ec] = std::from_chars(t[i + 1].text.data(),
                                       t[i + 1].text.data() + t[i + 1].text.size(), limit);
      if (ec != std::errc() || end != t[i + 1].text.data() + t[i + 1].text.size() || limit == 0) {
        return CommandStatus::Usage("audit: limit must be a positive number");
      }
      ++i;
    } else if (w.rfind("action=", 0) == 0) {
      request.set_action(w.substr(7));
    } else if (w.rfind("who=", 0) == 0) {
      request.set_who(w.substr(4));
    } else if (w.rfind("since=", 0) == 0) {
      if (!ParseSince(w.substr(6), request.mutable_since())) {
        return CommandStatus::Usage("audit: since must be relative (-30m, -1h, -7d) or RFC 3339, not \"" +
                                    SanitizeForTerminal(w.substr(6)) + "\"");
      }
    } else {
      return CommandStatus::Usage(
          "usage: audit [action=NAME] [who=WHO] [since=-1h|RFC3339] [failed] [limit N]");
    }
  }
  v1::ListAuditResponse all;
  while (static_cast<size_t>(all.records_size()) < limit) {
    request.set_page_size(static_cast<uint32_t>(
        std::min<size_t>(1000, limit - static_cast<size_t>(all.records_size()))));
    v1::ListAuditResponse page;
    grpc::Status rpc = session.agent().ListAudit(request, &page);
    if (!rpc.ok()) return session.RpcFailure(rpc);
    for (auto& r : *page.mutable_records()) *all.add_records() = std::move(r);
    all.set_next_page_token(page.next_page_token());
    if (page.next_page_token().empty() || page.records().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(all);
    return CommandStatus::Ok();
  }
  if (all.records().empty()) {
    out.out() << "no audit records match\n";
    return CommandStatus::Ok();
  }
  Table table({{.header = "id", .align = Table::Align::kRight, .shrinkable = false},
               {.header = "at (UTC)", .min_width = 11, .shrink_last = true},
               {.header = "who", .min_width = 8},
               {.header = "action", .shrinkable = false},
               {.header = "result", .min_width = 6},
               {.header = "request", .min_width = 10}});
  for (const auto& r : all.records()) {
    table.AddRow({{r.id()},
                  {FormatTimestamp(r.at().seconds(), r.at().nanos())},
                  {r.who()},
                  {r.action()},
                  {r.result(), r.ok() ? Style::kGreen : Style::kRed},
                  {r.request()}});
  }
  out.out() << table.Render(out.width(), out);
  if (!all.next_page_token().empty()) {
    out.out() << out.Paint("-- " + std::to_string(all.records_size()) +
                               " shown, more match; add limit N to see more --",
                           Style::kDim)
              << "\n";
  }
  return CommandStatus::Ok();
}

}  // namespace

void RegisterAuditCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "audit",
      .synopsis = "[action=NAME] [who=WHO] [since=-1h|RFC3339] [failed] [limit N]",
      .summary = "the audit trail of every state-changing call, newest first",
      .help = "Lists audit records, newest first (50, or limit N): id, time, who, the\n"
              "action (the API method: StartReflow, CancelJob, InvokeKnob, SetFlow, ...),\n"
              "the result as the caller got it, and the request (cut to fit).\n"
              "\n"
              "  action=NAME   only this method          who=WHO   only this caller\n"
              "  since=-1h     relative (s, m, h, d) or RFC 3339\n"
              "  failed        only calls that failed\n"
              "\n"
              "With --json, prints a ListAuditResponse with every record shown.",
      .rpcs = {"ListAudit"},
      .handler = Audit,
      .completer =
          [](const CompletionRequest& request) {
            std::string_view b = request.args_before_word;
            if (!b.empty() && b.back() == '=') {
              if (b.size() >= 7 && b.substr(b.size() - 7) == "action=") {
                // The methods every call of which is audited.
                std::vector<std::string> audited;
                const auto& service = AgentServiceDescriptor();
                for (int i = 0; i < service.method_count(); ++i) {
                  if (Mutates(*service.method(i))) audited.push_back(service.method(i)->name());
                }
                return audited;
              }
              return std::vector<std::string>{};
            }
            return std::vector<std::string>{"action=", "who=", "since=", "failed", "limit"};
          },
  });
}

}  // namespace reprise::console
