#include "reprise/console/job_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reprise/console/format.h"
#include "reprise/console/message_view.h"

namespace reprise::console {
namespace {

Style StateStyle(v1::JobState state) {
  switch (state) {
    case v1::COMPLETED: return Style::kGreen;
    case v1::STOPPED: return Style::kRed;
    case v1::RUNNING:
    case v1::CANCELLING: return Style::kYellow;
    default: return Style::kNone;
  }
}

}  // namespace

std::string JobStateName(v1::JobState state) {
  if (state == v1::JOB_STATE_UNSPECIFIED) return "";
  return AsciiLower(v1::JobState_Name(state));
}

std::string TargetName(v1::ReflowTarget target) {
  return target == v1::DOWNSTREAM ? "downstream" : "self";
}

bool IsRederive(const v1::Job& job) { return job.kind() == "rederive"; }

std::string JobKind(const v1::Job& job) {
  if (IsRederive(job)) {
    return "rederive " + SanitizeForTerminal(job.deriver()) + (job.dry_run() ? " (dry run)" : "");
  }
  return "reflow " + TargetName(job.target());
}

bool JobEnded(v1::JobState state) {
  return state == v1::CANCELLED || state == v1::COMPLETED || state == v1::STOPPED;
}

Table JobTable() {
  return Table({{.header = "id", .align = Table::Align::kRight, .shrinkable = false},
                {.header = "state", .shrinkable = false},
                {.header = "kind", .shrinkable = false},
                {.header = "done/total", .align = Table::Align::kRight, .shrinkable = false},
                {.header = "failed", .align = Table::Align::kRight, .shrinkable = false},
                {.header = "redelivered", .align = Table::Align::kRight, .shrinkable = false},
                {.header = "created (UTC)", .min_width = 11, .shrink_last = true},
                {.header = "filter", .min_width = 10},
                {.header = "reason", .min_width = 6}});
}

void AddJobRow(Table& table, const v1::Job& job) {
  table.AddRow({{job.id()},
                {JobStateName(job.state()), StateStyle(job.state())},
                {JobKind(job)},
                {std::to_string(job.done()) + "/" + std::to_string(job.total())},
                {std::to_string(job.failed()), job.failed() > 0 ? Style::kRed : Style::kNone},
                {std::to_string(job.redelivered())},
                {FormatTimestamp(job.created_at().seconds(), job.created_at().nanos())},
                {job.filter()},
                {job.reason()}});
}

std::string RenderProgressLine(const v1::JobProgress& progress, size_t width) {
  const v1::Job& job = progress.job();
  const uint64_t total = job.total();
  const uint64_t done = std::min(job.done(), total == 0 ? job.done() : total);
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  char tail[160];
  std::string eta = progress.eta_seconds() > 0
                        ? FormatDuration(static_cast<uint64_t>(std::ceil(progress.eta_seconds())))
                        : "-";
  std::string changed =
      IsRederive(job) ? "  changed " + std::to_string(job.changed()) : std::string();
  std::snprintf(tail, sizeof tail, "  %llu/%llu  %3d%%%s  failed %llu  %.1f/s  ETA %s",
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                static_cast<int>(fraction * 100), changed.c_str(),
                static_cast<unsigned long long>(job.failed()), progress.rate(), eta.c_str());
  std::string head = "job " + job.id() + "  ";
  size_t fixed = head.size() + 2 + std::string(tail).size();
  size_t bar = width > fixed + 10 ? std::min<size_t>(40, width - fixed) : 10;
  size_t filled = static_cast<size_t>(fraction * static_cast<double>(bar));
  std::string line = head + "[" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" +
                     tail;
  return TruncateToWidth(line, width);
}

std::string RenderJobSummary(const v1::Job& job) {
  if (IsRederive(job)) {
    std::string out = "job " + job.id() + " " + JobStateName(job.state()) + ": " +
                      std::to_string(job.done()) + " of " + std::to_string(job.total()) +
                      " keys re-derived with " + SanitizeForTerminal(job.deriver()) + ", " +
                      std::to_string(job.changed()) + " changed, " + std::to_string(job.failed()) +
                      " failed";
    if (job.dry_run()) out += " (dry run: nothing recorded or sent)";
    if (!job.reason().empty()) out += " (" + SanitizeForTerminal(job.reason()) + ")";
    if (!job.changed_keys().empty()) {
      out += "\nchanged:";
      for (const auto& k : job.changed_keys()) out += " " + SanitizeForTerminal(k);
      if (job.changed() > static_cast<uint64_t>(job.changed_keys_size())) out += " ...";
    }
    return out;
  }
  std::string out = "job " + job.id() + " " + JobStateName(job.state()) + ": " +
                    std::to_string(job.done()) + " of " + std::to_string(job.total()) +
                    " replayed, " + std::to_string(job.failed()) + " failed, " +
                    std::to_string(job.redelivered()) + " redelivered";
  if (!job.reason().empty()) out += " (" + SanitizeForTerminal(job.reason()) + ")";
  return out;
}

std::string RenderDryRun(const v1::DryRunSummary& s, v1::ReflowTarget target,
                         const Output& output) {
  std::ostringstream out;
  out << "dry run: " << s.messages() << (s.messages() == 1 ? " message" : " messages") << " ("
      << s.keys() << (s.keys() == 1 ? " key" : " keys") << ") would be replayed to "
      << TargetName(target) << "; " << s.excluded() << " excluded (other direction)";
  if (s.resolved() > 0) {
    out << "; " << s.resolved() << " resolved left out (a copy already ended ok; include-resolved replays them)";
  }
  if (s.older() > 0) out << "; " << s.older() << " older of the same key left out (latest-per-key)";
  out << "\n";
  auto groups = [&](const char* title,
                    const google::protobuf::RepeatedPtrField<v1::CountMessagesResponse::Group>& g) {
    if (g.empty()) return;
    Table table({{.header = title}, {.header = "count", .align = Table::Align::kRight,
                                     .shrinkable = false}});
    for (const auto& group : g) {
      table.AddRow({{group.value().empty() ? "(none)" : group.value()},
                    {std::to_string(group.count())}});
    }
    out << table.Render(output.width(), output, 2);
  };
  groups("channel", s.by_channel());
  groups("outcome", s.by_outcome());
  if (!s.sample().empty()) {
    out << "sample (oldest first):\n";
    Table table = MessageTable();
    for (const auto& m : s.sample()) AddMessageRow(table, m);
    out << table.Render(output.width(), output, 2);
  }
  return out.str();
}

}  // namespace reprise::console
