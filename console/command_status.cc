// status: what the agent is and how its journal is doing.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/message_view.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {

namespace {

// 1536 -> "1.5 KiB".
std::string FormatBytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  for (; v >= 1024 && u < 4; ++u) v /= 1024;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string Join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + SanitizeForTerminal(item);
  return out.empty() ? "none" : out;
}

CommandStatus Status(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 1) return CommandStatus::Usage("usage: status");
  if (session.fleet()) return FleetStatus(session);
  v1::DescribeResponse response;
  grpc::Status rpc = session.agent().Describe(&response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  session.UpdateDescribe(response);  // fresh channels for completion too
  if (session.output().json()) {
    session.PrintJson(response);
  } else {
    session.output().out() << RenderStatus(response, session.output());
  }
  return CommandStatus::Ok();
}

}  // namespace

std::string RenderStatus(const v1::DescribeResponse& d, const Output& output) {
  std::ostringstream out;
  auto label = [&](const char* name) {
    std::string l = name;
    l.resize(12, ' ');
    return output.Paint(l, Style::kBold);
  };
  const std::string indent(12, ' ');
  out << label("service") << SanitizeForTerminal(d.service());
  if (!d.instance().empty()) out << "  instance " << SanitizeForTerminal(d.instance());
  if (d.pid() != 0 || !d.host().empty()) {
    out << "  (";
    if (d.pid() != 0) out << "pid " << d.pid();
    if (!d.host().empty()) out << (d.pid() != 0 ? " on " : "host ") << SanitizeForTerminal(d.host());
    out << ")";
  }
  out << "\n";
  out << label("agent") << "version " << SanitizeForTerminal(d.agent_version()) << ", api "
      << SanitizeForTerminal(d.api_version());
  if (!d.listen_address().empty()) {
    out << ", listening on " << SanitizeForTerminal(d.listen_address());
  }
  out << "\n";
  out << label("uptime") << FormatDuration(d.uptime_seconds());
  if (d.has_started_at()) {
    out << " (since " << FormatTimestamp(d.started_at().seconds(), d.started_at().nanos())
        << " UTC)";
  }
  out << "\n";

  const v1::JournalHealth& j = d.journal();
  out << label("journal") << SanitizeForTerminal(j.backend());
  if (j.schema_version() != 0) out << "  schema " << j.schema_version();
  if (!j.durability().empty()) out << "  durability " << SanitizeForTerminal(j.durability());
  if (!j.overload_policy().empty()) out << "  overload " << SanitizeForTerminal(j.overload_policy());
  out << "\n";
  out << indent << "recorded " << j.recorded() << "  committed " << j.committed() << "  queued "
      << j.queued() << "  dropped "
      << output.Paint(std::to_string(j.dropped()), j.dropped() > 0 ? Style::kYellow : Style::kNone)
      << "  refused oversize " << j.refused_oversize() << "\n";
  if (j.write_failures() > 0 || j.rejected() > 0) {
    out << indent << "write failures " << j.write_failures() << "  rejected " << j.rejected()
        << "\n";
  }
  auto when = [](const google::protobuf::Timestamp& t) {
    return FormatTimestamp(t.seconds(), t.nanos()) + " UTC";
  };
  out << indent << "health ";
  if (!j.last_error().empty()) {
    std::string failing = "FAILING";
    if (j.has_failing_since()) {
      failing += " since " + when(j.failing_since());
      const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      if (now >= j.failing_since().seconds()) {
        failing += " (for " +
                   FormatDuration(static_cast<uint64_t>(now - j.failing_since().seconds())) + ")";
      }
    }
    out << output.Paint(failing + ", last error: " + SanitizeForTerminal(j.last_error()), Style::kRed);
    if (j.queued() > 0) {
      out << "\n" << indent << "       " << j.queued()
          << " record(s) wait in the queue and are written when the fault clears";
    }
  } else {
    out << output.Paint(j.dropped() > 0 ? "ok (messages were dropped)" : "ok",
                        j.dropped() > 0 ? Style::kYellow : Style::kGreen);
    if (!j.last_fault().empty()) {
      out << "\n" << indent << "       last fault";
      if (j.has_last_fault_at()) out << " " << when(j.last_fault_at());
      out << ": " << SanitizeForTerminal(j.last_fault());
      if (j.has_recovered_at()) out << " (recovered " << when(j.recovered_at()) << ")";
    }
  }
  out << "\n";

  if (d.has_retention()) {
    const v1::RetentionStatus& r = d.retention();
    out << label("retention") << SanitizeForTerminal(r.policy()) << "  oldest message "
        << (r.has_oldest_message() ? when(r.oldest_message()) : "none") << "  journal "
        << FormatBytes(r.journal_bytes()) << "\n";
    out << indent << "removed " << r.removed() << " since start";
    if (r.has_last_removal()) {
      out << ", last removal " << when(r.last_removal()) << " (" << r.last_removed() << ")";
    }
    if (!r.waiting_for().empty()) {
      out << "\n" << indent << "waits: " << SanitizeForTerminal(r.waiting_for());
    }
    if (!r.last_error().empty()) {
      out << "\n" << indent
          << output.Paint("last run failed: " + SanitizeForTerminal(r.last_error()), Style::kRed);
    }
    out << "\n";
  }

  if (d.channels().empty()) {
    out << label("channels") << "none yet\n";
  } else {
    out << output.Paint("channels", Style::kBold) << "\n";
    Table table({{.header = "channel", .min_width = 10},
                 {.header = "dir", .min_width = 3},
                 {.header = "messages", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "failed", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "unresolved", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "handler", .shrinkable = false},
                 {.header = "sender", .shrinkable = false}});
    for (const auto& c : d.channels()) {
      table.AddRow({{c.channel()},
                    {DirectionName(c.direction())},
                    {std::to_string(c.messages())},
                    {std::to_string(c.failed()), c.failed() > 0 ? Style::kRed : Style::kNone},
                    {std::to_string(c.unresolved()), c.unresolved() > 0 ? Style::kRed : Style::kNone},
                    {c.has_handler() ? "yes" : "-"},
                    {c.has_sender() ? "yes" : "-"}});
    }
    out << table.Render(output.width(), output, 2);
  }
  out << label("handlers") << Join(d.handlers()) << "\n";
  out << label("senders") << Join(d.senders()) << "\n";
  // Transports (docs/transports.md#what-an-operator-sees): one line each,
  // its counters, and its last error.
  if (!d.transports().empty()) {
    out << output.Paint("transports", Style::kBold) << "\n";
    for (const auto& t : d.transports()) {
      out << "  " << SanitizeForTerminal(t.name()) << "  " << SanitizeForTerminal(t.kind()) << "  "
          << (t.connected() ? output.Paint("connected", Style::kNone)
                            : output.Paint("not connected", Style::kRed))
          << "  " << SanitizeForTerminal(t.endpoint());
      if (!t.channel().empty()) out << " -> " << SanitizeForTerminal(t.channel());
      out << "\n    ";
      for (const auto& c : t.counters()) out << "  " << SanitizeForTerminal(c.name()) << " " << c.value();
      out << "\n";
      if (!t.last_error().empty()) out << "      last error: " << SanitizeForTerminal(t.last_error()) << "\n";
    }
  }
  return out.str();
}

void RegisterStatusCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "status",
      .summary = "the agent, its journal's health and its channels",
      .help = "Shows the service and instance the console is connected to, the agent's\n"
              "version and uptime, the journal (backend, durability, records committed,\n"
              "queued and dropped, last error), retention (policy, oldest message, the\n"
              "journal's size, what was removed), every channel with its message and\n"
              "failure counts, the registered handlers and senders, and the transports\n"
              "(RabbitMQ bindings and senders, HTTP endpoints) with their counters.\n"
              "\n"
              "With --json, prints the agent's Describe response.",
      .rpcs = {"Describe"},
      .handler = Status,
  });
}

}  // namespace reprise::console
