// reflow FILTER [options], jobs, watch JOB, cancel JOB: replaying stored
// messages as background jobs, and following them.
#include <poll.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <thread>

#include "reprise/console/commands.h"
#include "reprise/console/completion.h"
#include "reprise/console/format.h"
#include "reprise/console/interrupt.h"
#include "reprise/console/job_view.h"
#include "reprise/console/session.h"

namespace reprise::console {
namespace {

bool ParseCount(const std::string& text, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The options of `reflow`, taken off the end of the line.
struct ReflowArgs {
  v1::StartReflowRequest request;
  bool dry_run = false;
  std::string error;  // usage error
};

ReflowArgs ParseReflow(const TokenizedLine& line) {
  ReflowArgs args;
  auto& r = args.request;
  r.set_target(v1::SELF);
  const auto& t = line.tokens;
  size_t end = t.size();
  auto word = [&](size_t i, const char* w) { return !t[i].quoted && t[i].text == w; };
  while (end > 1) {
    if (word(end - 1, "dry-run")) {
      args.dry_run = true;
      --end;
      continue;
    }
    if (word(end - 1, "latest-per-key")) {
      r.set_latest_per_key(true);
      --end;
      continue;
    }
    if (word(end - 1, "include-resolved")) {
      r.set_include_resolved(true);
      --end;
      continue;
    }
    if (end < 3) break;
    const std::string& key = t[end - 2].quoted ? std::string() : t[end - 2].text;
    const std::string& value = t[end - 1].text;
    uint64_t n = 0;
    if (key == "to") {
      if (value == "self") {
        r.set_target(v1::SELF);
      } else if (value == "downstream") {
        r.set_target(v1::DOWNSTREAM);
      } else {
        args.error = "reflow: to must be self or downstream, not \"" + value + "\"";
        return args;
      }
    } else if (key == "rate") {
      char* stop = nullptr;
      double rate = std::strtod(value.c_str(), &stop);
      if (value.empty() || *stop != '\0' || !(rate >= 0)) {
        args.error = "reflow: rate must be a number of messages per second, not \"" + value + "\"";
        return args;
      }
      r.set_rate(rate);
    } else if (key == "concurrency" || key == "max-failures" || key == "limit") {
      if (!ParseCount(value, &n) || (key == "concurrency" && (n == 0 || n > 1024))) {
        args.error = "reflow: " + key + " must be a " +
                     (key == "concurrency" ? "number from 1 to 1024" : "whole number") +
                     ", not \"" + value + "\"";
        return args;
      }
      if (key == "concurrency") r.set_concurrency(static_cast<uint32_t>(n));
      if (key == "max-failures") r.set_max_failures(n);
      if (key == "limit") r.set_limit(n);
    } else {
      break;
    }
    end -= 2;
  }
  r.set_filter(line.Span(1, end));
  if (r.filter().empty()) {
    args.error = "reflow: say what to replay, e.g. reflow outcome = failed (see help reflow)";
  }
  return args;
}

}  // namespace

CommandStatus FollowJob(Session& session, const std::string& id, v1::Job* final) {
  Output& out = session.output();
  const bool live = session.live_progress();
  grpc::ClientContext context;
  v1::WatchJobRequest request;
  request.set_id(id);
  InterruptScope interrupt;
  std::atomic<bool> finished{false};
  // Ctrl-C cancels the watch (not the job): the reader below then ends.
  std::thread canceller([&] {
    while (!finished.load()) {
      pollfd p{interrupt.fd(), POLLIN, 0};
      if (interrupt.fd() >= 0) poll(&p, 1, 100);
      if (interrupt.interrupted()) {
        context.TryCancel();
        return;
      }
      if (interrupt.fd() < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto reader = session.agent().WatchJob(&context, request);
  v1::JobProgress progress, last;
  bool have = false;
  while (reader->Read(&progress)) {
    last = progress;
    have = true;
    if (live) {
      out.out() << "\r\033[K" << RenderProgressLine(last, out.width() > 1 ? out.width() - 1 : 1)
                << std::flush;
    }
  }
  grpc::Status status = reader->Finish();
  finished = true;
  canceller.join();
  if (live && have) out.out() << "\r\033[K" << std::flush;
  if (interrupt.interrupted()) {
    out.out() << "detached: job " << id << " keeps running; re-attach with: watch " << id << "\n";
    return CommandStatus::Ok();
  }
  if (!status.ok()) return session.RpcFailure(status);
  if (!have) return CommandStatus::Failed("job " + id + ": the agent sent no progress");
  if (final) *final = last.job();
  if (out.json()) {
    session.PrintJson(last);
  } else {
    out.out() << out.Paint(RenderJobSummary(last.job()),
                           last.job().state() == v1::STOPPED ? Style::kRed : Style::kNone)
              << "\n";
  }
  if (last.job().state() == v1::STOPPED) {
    return CommandStatus::Failed("job " + id + " stopped: " + last.job().reason());
  }
  return CommandStatus::Ok();
}

namespace {

CommandStatus Reflow(Session& session, const TokenizedLine& line) {
  ReflowArgs args = ParseReflow(line);
  if (!args.error.empty()) return CommandStatus::Usage(args.error);
  Output& out = session.output();
  v1::StartReflowRequest request = args.request;
  request.set_dry_run(true);
  v1::StartReflowResponse plan;
  grpc::Status rpc = session.agent().StartReflow(request, &plan);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  const v1::DryRunSummary& summary = plan.dry_run();
  const std::string target = TargetName(request.target());
  if (out.json() && (args.dry_run || summary.messages() == 0)) {
    session.PrintJson(plan);
    return CommandStatus::Ok();
  }
  if (!out.json()) out.out() << RenderDryRun(summary, request.target(), out) << std::flush;
  if (args.dry_run) return CommandStatus::Ok();
  if (summary.messages() == 0) {
    out.out() << "nothing to reflow\n";
    return CommandStatus::Ok();
  }
  std::string question = "Reflow " + std::to_string(summary.messages()) +
                         (summary.messages() == 1 ? " message (" : " messages (") +
                         std::to_string(summary.keys()) + (summary.keys() == 1 ? " key)" : " keys)") +
                         " to " + target + "?";
  if (!session.Confirm(question)) {
    out.out() << "not started\n";
    return CommandStatus::Ok();
  }
  request.set_dry_run(false);
  request.set_pin(summary.pin());  // what was confirmed is what runs
  v1::StartReflowResponse started;
  rpc = session.agent().StartReflow(request, &started);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  const v1::Job& job = started.job();
  if (!out.json()) {
    out.out() << "started job " << job.id() << ": " << job.total() << " messages to " << target
              << "\n"
              << std::flush;
  }
  return FollowJob(session, job.id());
}

CommandStatus Jobs(Session& session, const TokenizedLine& line) {
  TrailingClause limit = ParseTrailingClause(line, "limit");
  if (!limit.error.empty() || limit.filter_end != 1) {
    return CommandStatus::Usage("usage: jobs [limit N]");
  }
  v1::ListJobsRequest request;
  if (limit.value) {
    uint64_t n = 0;
    if (!ParseCount(*limit.value, &n) || n == 0 || n > 1000) {
      return CommandStatus::Usage("jobs: limit must be a number from 1 to 1000");
    }
    request.set_limit(static_cast<uint32_t>(n));
  }
  v1::ListJobsResponse response;
  grpc::Status rpc = session.agent().ListJobs(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  Output& out = session.output();
  if (out.json()) {
    session.PrintJson(response);
    return CommandStatus::Ok();
  }
  if (response.jobs().empty()) {
    out.out() << "no jobs\n";
    return CommandStatus::Ok();
  }
  Table table = JobTable();
  for (const auto& j : response.jobs()) AddJobRow(table, j);
  out.out() << table.Render(out.width(), out);
  return CommandStatus::Ok();
}

CommandStatus Watch(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 2) return CommandStatus::Usage("usage: watch JOB");
  return FollowJob(session, line.tokens[1].text);
}

CommandStatus Cancel(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() < 2) return CommandStatus::Usage("usage: cancel JOB [REASON...]");
  const std::string& id = line.tokens[1].text;
  v1::GetJobRequest get;
  get.set_id(id);
  v1::Job job;
  grpc::Status rpc = session.agent().GetJob(get, &job);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  Output& out = session.output();
  std::string question = "Cancel job " + job.id() + " (" + JobStateName(job.state()) + ", " +
                         std::to_string(job.done()) + "/" + std::to_string(job.total()) +
                         " done, " + JobKind(job) +
                         (job.filter().empty() ? "" : " of " + SanitizeForTerminal(job.filter())) +
                         ")?";
  if (!session.Confirm(question)) {
    out.out() << "not cancelled\n";
    return CommandStatus::Ok();
  }
  v1::CancelJobRequest request;
  request.set_id(id);
  request.set_reason(line.Rest(2));
  v1::Job cancelled;
  rpc = session.agent().CancelJob(request, &cancelled);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  if (out.json()) {
    session.PrintJson(cancelled);
  } else {
    out.out() << "job " << cancelled.id() << " " << JobStateName(cancelled.state()) << " ("
              << cancelled.done() << " of " << cancelled.total() << " replayed)\n";
  }
  return CommandStatus::Ok();
}

std::vector<std::string> CompleteJobId(const CompletionRequest& request) {
  if (!Tokenize(request.args_before_word).tokens.empty() || !request.vocabulary.job_ids) {
    return {};
  }
  return request.vocabulary.job_ids();
}

}  // namespace

void RegisterReflowCommands(CommandRegistry& registry) {
  registry.Add({
      .name = "reflow",
      .synopsis = "FILTER [to self|downstream] [rate N] [concurrency N] [max-failures N] "
                  "[limit N] [latest-per-key] [include-resolved] [dry-run]",
      .summary = "replay stored messages to their handler or downstream, as a job",
      .help = "Replays the messages the filter selects: inbound ones into their channel's\n"
              "handler (to self, the default) or outbound ones through their channel's\n"
              "sender (to downstream). Each replay is a new message (a copy) linked to the\n"
              "original by origin and to the job; the original never changes.\n"
              "\n"
              "A message is resolved once a reflowed copy of it (or a copy of that copy)\n"
              "ended ok: the reflow leaves resolved messages out unless include-resolved.\n"
              "\n"
              "First a dry run shows what would happen: how many messages and keys, how\n"
              "many were excluded for being of the other direction or resolved, counts by\n"
              "channel and by outcome, and a sample. With dry-run the command stops there. Otherwise\n"
              "it asks \"Reflow N messages (K keys) to TARGET? [y/N]\" on a terminal\n"
              "(not with --yes, nor in scripts), starts the job and shows its progress\n"
              "until it ends. Ctrl-C detaches: the job keeps running (watch JOB).\n"
              "\n"
              "Options (at the end of the line, in any order):\n"
              "  to self|downstream   where to replay (default self)\n"
              "  rate N               at most N messages per second (default: no limit)\n"
              "  concurrency N        keys in parallel; one key's messages stay in order\n"
              "  max-failures N       stop the job when more than N replays fail\n"
              "  limit N              only the N oldest selected messages\n"
              "  latest-per-key       only the newest selected message of each channel and\n"
              "                       key (state-carrying channels; not for events)\n"
              "  include-resolved     also replay resolved messages\n"
              "  dry-run              only show what would be replayed\n"
              "\n"
              "Exit status 1 when the job ended stopped (max-failures). With --json: the\n"
              "dry run (a StartReflowResponse) with dry-run, else the final JobProgress.\n"
              "\n"
              "Examples:\n"
              "  reflow channel = \"payments.received\" and outcome = failed dry-run\n"
              "  reflow direction = out and outcome = failed to downstream rate 50\n"
              "  reflow outcome = failed and recorded > -1h concurrency 4 max-failures 10",
      .rpcs = {"StartReflow", "WatchJob"},
      .handler = Reflow,
      .completer =
          [](const CompletionRequest& request) {
            TokenizedLine args = Tokenize(request.args_before_word);
            if (!args.tokens.empty() && !args.tokens.back().quoted) {
              const std::string& last = args.tokens.back().text;
              if (last == "to") return std::vector<std::string>{"self", "downstream"};
              if (last == "rate" || last == "concurrency" || last == "max-failures" ||
                  last == "limit") {
                return std::vector<std::string>{};
              }
            }
            return CompleteFilter(request.args_before_word, request.vocabulary,
                                  {"to", "rate", "concurrency", "max-failures", "limit",
                                   "latest-per-key", "include-resolved", "dry-run"});
          },
  });
  registry.Add({
      .name = "jobs",
      .synopsis = "[limit N]",
      .summary = "list reflow jobs, newest first",
      .help = "Lists the latest jobs (20, or limit N): id, state, target, done/total,\n"
              "failed, redelivered (replayed again after a crash), when it was created,\n"
              "its filter and why it ended when it did not complete.\n"
              "\n"
              "With --json, prints the ListJobsResponse.",
      .rpcs = {"ListJobs"},
      .handler = Jobs,
  });
  registry.Add({
      .name = "watch",
      .synopsis = "JOB",
      .summary = "follow a job's progress until it ends",
      .help = "Shows a job's progress until it ends: on a terminal a line redrawn in\n"
              "place (done/total, failures, rate, ETA), elsewhere one summary line at the\n"
              "end. Ctrl-C stops watching; the job keeps running.\n"
              "\n"
              "Exit status 1 for an unknown job (NOT_FOUND) or a job that ended stopped.\n"
              "With --json, prints the final JobProgress.",
      .rpcs = {"WatchJob"},
      .handler = Watch,
      .completer = CompleteJobId,
  });
  registry.Add({
      .name = "cancel",
      .synopsis = "JOB [REASON...]",
      .summary = "stop a running job (what it did stays done)",
      .help = "Stops a job within a second: messages already replayed stay replayed, the\n"
              "rest are not. The reason (the rest of the line) goes to the audit trail.\n"
              "Asks for confirmation on a terminal unless --yes.\n"
              "\n"
              "With --json, prints the Job.",
      .rpcs = {"GetJob", "CancelJob"},
      .handler = Cancel,
      .completer = CompleteJobId,
  });
}

}  // namespace reprise::console
