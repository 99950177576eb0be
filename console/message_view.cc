#include "reprise/console/message_view.h"

#include <algorithm>
#include <sstream>
#include <utility>
#include <vector>

#include "reprise/console/format.h"

namespace reprise::console {
namespace {

std::string Recorded(const v1::Message& m) {
  return FormatTimestamp(m.recorded_at().seconds(), m.recorded_at().nanos());
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : SanitizeForTerminal(s); }

}  // namespace

std::string DirectionName(v1::Direction direction) {
  if (direction == v1::DIRECTION_UNSPECIFIED) return "";
  return AsciiLower(v1::Direction_Name(direction));
}

std::string OutcomeName(v1::Outcome outcome) {
  if (outcome == v1::OUTCOME_UNSPECIFIED) return "";
  return AsciiLower(v1::Outcome_Name(outcome));
}

Style OutcomeStyle(v1::Outcome outcome) {
  switch (outcome) {
    case v1::FAILED: return Style::kRed;
    case v1::OK: return Style::kGreen;
    case v1::PENDING: return Style::kYellow;
    case v1::SKIPPED: return Style::kDim;
    default: return Style::kNone;
  }
}

Table MessageTable() {
  return Table({{.header = "id", .shrinkable = false},
                {.header = "recorded (UTC)", .min_width = 11, .shrink_last = true},
                {.header = "dir", .shrinkable = false},
                {.header = "channel", .min_width = 6},
                {.header = "key", .min_width = 6},
                {.header = "outcome", .shrinkable = false},
                {.header = "error", .min_width = 6}});
}

void AddMessageRow(Table& table, const v1::Message& m) {
  // A resolved message says so, and by which copy, ahead of its error.
  const bool resolved = !m.resolved_by().empty();
  table.AddRow({{m.id()},
                {Recorded(m)},
                {DirectionName(m.direction())},
                {m.channel()},
                {m.key()},
                {std::string(OutcomeName(m.outcome())) + (resolved ? ", resolved" : ""),
                 resolved ? Style::kGreen : OutcomeStyle(m.outcome())},
                {resolved ? "resolved by " + m.resolved_by() + (m.error().empty() ? "" : "; " + m.error())
                          : m.error(),
                 resolved ? Style::kNone : Style::kRed}});
}

std::string RenderPayload(const std::string& payload, const std::string& content_type) {
  if (auto json = PrettyJson(payload)) return *json + "\n";
  if (AsciiLower(content_type).rfind("text/", 0) == 0 && IsPrintableText(payload)) {
    return payload + (payload.empty() || payload.back() == '\n' ? "" : "\n");
  }
  return HexDump(payload);
}

std::string RenderMessageDetail(const v1::GetMessageResponse& response, const Output& output) {
  const v1::Message& m = response.message();
  std::ostringstream out;
  auto heading = [&](const std::string& text) { out << "\n" << output.Paint(text, Style::kBold) << "\n"; };
  auto field = [&](const char* name, const std::string& value, Style style = Style::kNone) {
    std::string label = name;
    label.resize(14, ' ');
    out << label << output.Paint(value, value == "-" ? Style::kNone : style) << "\n";
  };
  field("id", OrDash(m.id()), Style::kBold);
  field("recorded", m.has_recorded_at() ? Recorded(m) + " UTC" : "-");
  field("direction", OrDash(DirectionName(m.direction())));
  field("channel", OrDash(m.channel()));
  field("key", OrDash(m.key()));
  field("outcome", OrDash(OutcomeName(m.outcome())), OutcomeStyle(m.outcome()));
  field("error", OrDash(m.error()), Style::kRed);
  field("attempt", std::to_string(m.attempt()));
  field("correlation", OrDash(m.correlation_id()));
  field("causation", OrDash(m.causation_id()));
  field("resolved", m.resolved_by().empty() ? "no" : "yes, by " + m.resolved_by(),
        m.resolved_by().empty() ? Style::kNone : Style::kGreen);
  field("origin", OrDash(m.origin_id()));
  field("job", OrDash(m.job_id()));
  field("flow variant", OrDash(m.flow_variant()));
  field("content type", OrDash(m.content_type()));
  field("payload size", std::to_string(m.payload_size()) + " bytes");

  // Protobuf maps have no order: sort headers so output is stable.
  std::vector<std::pair<std::string, std::string>> headers(m.headers().begin(),
                                                           m.headers().end());
  std::sort(headers.begin(), headers.end());
  heading("headers (" + std::to_string(headers.size()) + ")");
  if (headers.empty()) out << "  none\n";
  for (const auto& [name, value] : headers) {
    out << "  " << SanitizeForTerminal(name) << ": " << SanitizeForTerminal(value) << "\n";
  }

  auto lineage = [&](const std::string& title,
                     const google::protobuf::RepeatedPtrField<v1::Message>& list) {
    heading(title + " (" + std::to_string(list.size()) + ")");
    if (list.empty()) {
      out << "  none\n";
      return;
    }
    Table table = MessageTable();
    for (const auto& item : list) AddMessageRow(table, item);
    std::istringstream lines(table.Render(output.width() > 2 ? output.width() - 2 : 1, output));
    for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
  };
  lineage("causes, parent first", response.causes());
  lineage("effects", response.effects());
  lineage("reflowed copies", response.copies());

  std::string kind = m.content_type().empty() ? "" : SanitizeForTerminal(m.content_type()) + ", ";
  heading("payload (" + kind + std::to_string(m.payload().size()) + " bytes)");
  if (m.payload_redacted()) {
    out << "  redacted: the agent shows viewer tokens metadata only\n";
  } else if (m.payload().empty()) {
    out << (m.payload_size() > 0 ? "  not returned by the agent\n" : "  empty\n");
  } else {
    out << RenderPayload(m.payload(), m.content_type());
    if (m.payload_size() > m.payload().size()) {
      out << "... " << (m.payload_size() - m.payload().size())
          << " more bytes not returned by the agent\n";
    }
  }
  return out.str();
}

}  // namespace reprise::console
