#include "metrics.h"

#include <chrono>
#include <cstdio>

#include "agent_core.h"
#include "reprise/base/version.h"
#include "reprise/store/job.h"

namespace reprise {

ChannelCounts::Counts& ChannelCounts::Find(std::string_view channel, Direction direction) {
  auto& counts = by_direction_[direction == Direction::kOut ? 1 : 0];
  {
    std::shared_lock lock(mu_);
    if (auto it = counts.find(channel); it != counts.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = counts[std::string(channel)];
  if (!slot) slot = std::make_unique<Counts>();
  return *slot;
}

std::vector<ChannelCounts::Row> ChannelCounts::Rows() const {
  std::vector<Row> rows;
  std::shared_lock lock(mu_);
  for (Direction d : {Direction::kIn, Direction::kOut}) {
    for (const auto& [channel, c] : by_direction_[d == Direction::kOut ? 1 : 0]) {
      rows.push_back({channel, d, c->messages.load(), c->failed.load()});
    }
  }
  return rows;
}

void CallCounts::Count(std::string_view method, StatusCode code) {
  std::lock_guard lock(mu_);
  ++counts_[{std::string(method), code}];
}

std::vector<CallCounts::Row> CallCounts::Rows() const {
  std::vector<Row> rows;
  std::lock_guard lock(mu_);
  for (const auto& [key, calls] : counts_) rows.push_back({key.first, key.second, calls});
  return rows;
}

namespace {

// Writes families in the text format: HELP and TYPE once, then the samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  // `labels`: name/value pairs, values escaped here.
  void Sample(std::string_view name, double value,
              std::initializer_list<std::pair<std::string_view, std::string_view>> labels = {}) {
    out_.append(name);
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [label, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_.append(label).append("=\"");
        for (char c : v) {
          if (c == '\\' || c == '"') out_ += '\\';
          if (c == '\n') {
            out_.append("\\n");
            continue;
          }
          out_ += c;
        }
        out_ += '"';
      }
      out_ += '}';
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, " %.17g\n", value);
    out_.append(buf);
  }
  // A family with one sample and no labels.
  void One(std::string_view name, std::string_view type, std::string_view help, double value) {
    Family(name, type, help);
    Sample(name, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

double Seconds(int64_t unix_us) { return static_cast<double>(unix_us) / 1e6; }

double Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

void Histogram(Exposition& e, std::string_view name, std::string_view help, const LatencyHistogram& h) {
  e.Family(name, "histogram", help);
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    cumulative += h.counts[i];
    std::snprintf(le, sizeof le, "%g", LatencyHistogram::kBounds[i]);
    e.Sample(bucket, static_cast<double>(cumulative), {{"le", le}});
  }
  cumulative += h.counts.back();
  e.Sample(bucket, static_cast<double>(cumulative), {{"le", "+Inf"}});
  e.Sample(std::string(name) + "_sum", h.sum_seconds);
  e.Sample(std::string(name) + "_count", static_cast<double>(cumulative));
}

}  // namespace

std::string RenderMetrics(AgentCore& core) {
  const AgentOptions& options = core.options();
  const AgentStats stats = core.Stats();
  const RecordingStats& r = stats.recording;
  Exposition e;

  e.Family("reprise_build_info", "gauge", "The agent's version and service; always 1.");
  e.Sample("reprise_build_info", 1,
           {{"version", kVersion}, {"service", options.service}, {"instance", core.instance()}});
  e.One("reprise_start_time_seconds", "gauge", "When the agent started, in Unix seconds.",
        Seconds(core.started_at()));

  e.One("reprise_records_recorded_total", "counter", "Records accepted onto the recording queue.",
        static_cast<double>(r.recorded));
  e.One("reprise_records_committed_total", "counter", "Records written to the journal.",
        static_cast<double>(r.committed));
  e.One("reprise_records_dropped_total", "counter",
        "Records refused because the queue was full under overload = drop.", static_cast<double>(r.dropped));
  e.One("reprise_records_refused_total", "counter",
        "Payloads refused before recording: larger than max_payload_bytes.",
        static_cast<double>(stats.refused_oversize));
  e.One("reprise_records_rejected_total", "counter", "Records the journal refused for good (logged).",
        static_cast<double>(r.rejected));
  e.One("reprise_recording_queue_records", "gauge", "Records waiting to be committed.",
        static_cast<double>(r.queued));
  e.One("reprise_recording_queue_bytes", "gauge", "Serialized size of the records waiting.",
        static_cast<double>(r.queued_bytes));
  e.One("reprise_recording_queue_limit_bytes", "gauge", "The queue's bound, max_queue_bytes.",
        static_cast<double>(options.max_queue_bytes));
  e.One("reprise_journal_commits_total", "counter", "Group commits written to the journal.",
        static_cast<double>(r.batches));
  Histogram(e, "reprise_journal_commit_duration_seconds",
            "How long the journal took to write a group commit that succeeded.", r.commit_latency);
  e.One("reprise_journal_write_failures_total", "counter", "Group commits the journal refused (retried).",
        static_cast<double>(r.failed_writes));
  e.One("reprise_journal_healthy", "gauge", "1 while the journal takes writes, 0 while they fail.",
        r.healthy() ? 1 : 0);

  int scrape_errors = 0;
  if (auto extent = core.journal().Extent(); extent.ok()) {
    e.One("reprise_journal_size_bytes", "gauge", "Space the journal's messages take.",
          static_cast<double>(extent->bytes));
    const double now = Seconds(std::chrono::system_clock::now());
    e.One("reprise_journal_oldest_message_age_seconds", "gauge",
          "Age of the oldest message in the journal; 0 when it holds none.",
          extent->oldest_us > 0 ? now - Seconds(extent->oldest_us) : 0);
  } else {
    ++scrape_errors;
  }

  const RetentionStats& ret = stats.retention;
  e.One("reprise_retention_removed_messages_total", "counter", "Messages retention removed.",
        static_cast<double>(ret.removed));
  e.One("reprise_retention_last_run_timestamp_seconds", "gauge",
        "When the last retention run ended, in Unix seconds; 0 before the first.",
        Seconds(ret.last_run_us));

  if (auto jobs = core.journal().jobs().UnfinishedJobs(); jobs.ok()) {
    e.One("reprise_jobs_unfinished", "gauge", "Reflow, re-derive and migration jobs not finished.",
          static_cast<double>(jobs->size()));
    e.Family("reprise_job_items", "gauge",
             "Items of each unfinished job: done, failed (of the done) and remaining.");
    for (const JobRecord& job : *jobs) {
      const std::string_view state = JobStateName(job.state);
      const uint64_t remaining = job.total > job.done ? job.total - job.done : 0;
      for (auto [name, value] : {std::pair<std::string_view, uint64_t>{"done", job.done},
                                 {"failed", job.failed},
                                 {"remaining", remaining}}) {
        e.Sample("reprise_job_items", static_cast<double>(value),
                 {{"job", job.id}, {"kind", job.spec.kind}, {"job_state", state}, {"items", name}});
      }
    }
  } else {
    ++scrape_errors;
  }

  const auto channels = core.channel_counts().Rows();
  e.Family("reprise_channel_messages_total", "counter", "Messages recorded per channel and direction.");
  for (const auto& c : channels) {
    e.Sample("reprise_channel_messages_total", static_cast<double>(c.messages),
             {{"channel", c.channel}, {"direction", DirectionName(c.direction)}});
  }
  e.Family("reprise_channel_failures_total", "counter",
           "Messages whose handler or send failed, per channel and direction.");
  for (const auto& c : channels) {
    e.Sample("reprise_channel_failures_total", static_cast<double>(c.failed),
             {{"channel", c.channel}, {"direction", DirectionName(c.direction)}});
  }

  e.Family("reprise_api_calls_total", "counter", "API calls by method and status code.");
  for (const auto& c : core.call_counts().Rows()) {
    e.Sample("reprise_api_calls_total", static_cast<double>(c.calls),
             {{"method", c.method}, {"code", StatusCodeName(c.code)}});
  }

  e.One("reprise_scrape_errors", "gauge", "Parts of this scrape the journal could not answer.",
        scrape_errors);
  return e.Take();
}

}  // namespace reprise
