// Fleet mode: `instances`, and `status` and `knob` fanned out to every live
// instance of the service (or the one chosen with --instance).
#include <chrono>
#include <sstream>

#include "reprise/base/clock.h"
#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"
#include "reprise/console/table.h"

namespace reprise::console {

fleet::ReadResult FleetMode::Targets() const {
  fleet::ReadResult r = fleet::ReadLiveInstances(journal, service);
  if (!r.error.empty() || instance.empty()) return r;
  std::vector<fleet::Instance> chosen;
  for (auto& i : r.instances) {
    if (i.id == instance) chosen.push_back(std::move(i));
  }
  r.instances = std::move(chosen);
  return r;
}

namespace {

// "\"text\"" with JSON escapes.
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The instances commands go to, or a failed status saying why there are none.
CommandStatus Targets(Session& session, std::vector<fleet::Instance>* out) {
  const FleetMode& f = *session.fleet();
  fleet::ReadResult r = f.Targets();
  if (!r.error.empty()) return {CommandCode::kUnreachable, r.error, ""};
  if (r.instances.empty()) {
    std::string who = !f.instance.empty() ? "instance " + f.instance
                      : !f.service.empty() ? "instance of service " + f.service
                                           : "instance";
    return {CommandCode::kUnreachable, "no live " + who + " is registered in " + f.journal, ""};
  }
  *out = std::move(r.instances);
  return CommandStatus::Ok();
}

std::string Age(int64_t at_us) {
  int64_t ms = (NowUs() - at_us) / 1000;
  if (ms < 0) ms = 0;
  if (ms < 10000) return std::to_string(ms) + "ms ago";
  return FormatDuration(static_cast<uint64_t>(ms / 1000)) + " ago";
}

CommandStatus Instances(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 1) return CommandStatus::Usage("usage: instances");
  if (!session.fleet()) {
    return CommandStatus::Failed("instances: only in fleet mode (reprise --fleet JOURNAL_URL)");
  }
  std::vector<fleet::Instance> list;
  if (CommandStatus st = Targets(session, &list); !st.ok()) return st;
  Output& out = session.output();
  if (out.json()) {
    std::string json = "{\"instances\":[";
    for (size_t i = 0; i < list.size(); ++i) {
      const fleet::Instance& n = list[i];
      json += std::string(i ? "," : "") + "{\"id\":" + JsonString(n.id) + ",\"service\":" +
              JsonString(n.service) + ",\"host\":" + JsonString(n.host) + ",\"pid\":" +
              std::to_string(n.pid) + ",\"address\":" + JsonString(n.address) + ",\"agentVersion\":" +
              JsonString(n.agent_version) + ",\"startedAtUs\":" + std::to_string(n.started_at_us) +
              ",\"heartbeatAtUs\":" + std::to_string(n.heartbeat_at_us) + "}";
    }
    out.out() << json << "]}\n";
    return CommandStatus::Ok();
  }
  Table table({{.header = "instance", .shrinkable = false},
               {.header = "service", .shrinkable = false},
               {.header = "address", .shrinkable = false},
               {.header = "host", .min_width = 4},
               {.header = "pid", .align = Table::Align::kRight, .shrinkable = false},
               {.header = "version", .shrinkable = false},
               {.header = "heartbeat", .shrinkable = false}});
  for (const fleet::Instance& n : list) {
    table.AddRow({{n.id}, {n.service}, {n.address.empty() ? "-" : n.address}, {n.host},
                  {std::to_string(n.pid)}, {n.agent_version}, {Age(n.heartbeat_at_us)}});
  }
  out.out() << table.Render(out.width(), out);
  out.out() << list.size() << " live instance" << (list.size() == 1 ? "" : "s") << "\n";
  return CommandStatus::Ok();
}

}  // namespace

CommandStatus FleetStatus(Session& session) {
  std::vector<fleet::Instance> list;
  if (CommandStatus st = Targets(session, &list); !st.ok()) return st;
  Output& out = session.output();
  struct Row {
    const fleet::Instance* instance;
    v1::DescribeResponse describe;
    grpc::Status status;
  };
  std::vector<Row> rows;
  AgentClient& primary = session.agent();
  for (const fleet::Instance& n : list) {
    AgentClient client(n.address, primary.timeout(), primary.security());
    Row row{&n, {}, {}};
    row.status = n.address.empty() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "it serves no API")
                                   : client.Describe(&row.describe);
    rows.push_back(std::move(row));
  }
  uint64_t recorded = 0, committed = 0, queued = 0, dropped = 0;
  size_t failed = 0;
  for (const Row& r : rows) {
    if (!r.status.ok()) {
      ++failed;
      continue;
    }
    const v1::JournalHealth& j = r.describe.journal();
    recorded += j.recorded();
    committed += j.committed();
    queued += j.queued();
    dropped += j.dropped();
  }
  if (out.json()) {
    std::string json = "{\"instances\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      json += std::string(i ? "," : "") + "{\"id\":" + JsonString(rows[i].instance->id) + ",";
      json += rows[i].status.ok()
                  ? "\"describe\":" + MessageToJson(rows[i].describe)
                  : "\"error\":" + JsonString(StatusCodeName(rows[i].status.error_code()) + ": " +
                                              rows[i].status.error_message());
      json += "}";
    }
    json += "],\"total\":{\"instances\":" + std::to_string(rows.size()) + ",\"reachable\":" +
            std::to_string(rows.size() - failed) + ",\"recorded\":" + std::to_string(recorded) +
            ",\"committed\":" + std::to_string(committed) + ",\"queued\":" + std::to_string(queued) +
            ",\"dropped\":" + std::to_string(dropped) + "}}";
    out.out() << json << "\n";
  } else {
    const FleetMode& f = *session.fleet();
    out.out() << out.Paint("fleet", Style::kBold) << "       "
              << SanitizeForTerminal(f.service.empty() ? "every service" : f.service) << ", "
              << rows.size() << " live instance" << (rows.size() == 1 ? "" : "s") << " in "
              << SanitizeForTerminal(f.journal) << "\n";
    Table table({{.header = "instance", .shrinkable = false},
                 {.header = "service", .shrinkable = false},
                 {.header = "uptime", .shrinkable = false},
                 {.header = "recorded", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "committed", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "queued", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "dropped", .align = Table::Align::kRight, .shrinkable = false},
                 {.header = "health", .min_width = 6}});
    for (const Row& r : rows) {
      if (!r.status.ok()) {
        table.AddRow({{r.instance->id}, {r.instance->service}, {"-"}, {"-"}, {"-"}, {"-"}, {"-"},
                      {"unreachable: " + r.status.error_message(), Style::kRed}});
        continue;
      }
      const v1::JournalHealth& j = r.describe.journal();
      std::string health = j.last_error().empty() ? "ok" : "last error: " + j.last_error();
      table.AddRow({{r.instance->id},
                    {r.describe.service()},
                    {FormatDuration(r.describe.uptime_seconds())},
                    {std::to_string(j.recorded())},
                    {std::to_string(j.committed())},
                    {std::to_string(j.queued())},
                    {std::to_string(j.dropped()), j.dropped() > 0 ? Style::kYellow : Style::kNone},
                    {health, j.last_error().empty() ? Style::kGreen : Style::kRed}});
    }
    table.AddRow({{"total"}, {""}, {""}, {std::to_string(recorded)}, {std::to_string(committed)},
                  {std::to_string(queued)}, {std::to_string(dropped)},
                  {std::to_string(rows.size() - failed) + " of " + std::to_string(rows.size()) + " reachable"}});
    out.out() << table.Render(out.width(), out);
  }
  if (failed > 0) {
    return CommandStatus::Failed("status: " + std::to_string(failed) + " of " +
                                 std::to_string(rows.size()) + " instances did not answer");
  }
  return CommandStatus::Ok();
}

CommandStatus FleetKnob(Session& session, const v1::InvokeKnobRequest& request) {
  std::vector<fleet::Instance> list;
  if (CommandStatus st = Targets(session, &list); !st.ok()) return st;
  Output& out = session.output();
  struct Row {
    const fleet::Instance* instance;
    v1::InvokeKnobResponse response;
    grpc::Status status;
  };
  std::vector<Row> rows;
  size_t failed = 0;
  for (const fleet::Instance& n : list) {
    AgentClient client(n.address, session.agent().timeout(), session.agent().security());
    Row row{&n, {}, {}};
    row.status = n.address.empty() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "it serves no API")
                                   : client.InvokeKnob(request, &row.response);
    if (!row.status.ok()) ++failed;
    rows.push_back(std::move(row));
  }
  if (out.json()) {
    std::string json = "{\"results\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      json += std::string(i ? "," : "") + "{\"instance\":" + JsonString(rows[i].instance->id) + ",";
      json += rows[i].status.ok() ? "\"result\":" + JsonString(rows[i].response.result())
                                  : "\"code\":" + JsonString(StatusCodeName(rows[i].status.error_code())) +
                                        ",\"error\":" + JsonString(rows[i].status.error_message());
      json += "}";
    }
    out.out() << json << "]}\n";
  } else {
    Table table({{.header = "instance", .shrinkable = false}, {.header = "result", .min_width = 10}});
    for (const Row& r : rows) {
      if (r.status.ok()) {
        table.AddRow({{r.instance->id}, {r.response.result()}});
      } else {
        table.AddRow({{r.instance->id},
                      {StatusCodeName(r.status.error_code()) + ": " + r.status.error_message(), Style::kRed}});
      }
    }
    out.out() << table.Render(out.width(), out);
  }
  if (failed > 0) {
    return CommandStatus::Failed("knob " + request.name() + " failed on " + std::to_string(failed) +
                                 " of " + std::to_string(rows.size()) + " instances");
  }
  return CommandStatus::Ok();
}

void RegisterFleetCommands(CommandRegistry& registry) {
  registry.Add({
      .name = "instances",
      .summary = "fleet mode: the live instances registered in the journal",
      .help = "Lists the live instances of the service (--service) registered in the\n"
              "journal given with --fleet: instance id, service, gRPC address, host, pid,\n"
              "agent version and how long ago it last heartbeat. In fleet mode, status\n"
              "and knob run on each of them (or on the one chosen with --instance);\n"
              "every other command runs on one live instance, since they all share the\n"
              "journal.\n"
              "\n"
              "With --json, prints {\"instances\": [...]}.",
      .needs_agent = false,
      .handler = Instances,
  });
}

}  // namespace reprise::console
