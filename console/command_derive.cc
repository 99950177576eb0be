// rederive DERIVER (KEY... | where FILTER) [dry-run], and
// migrate FLOW VARIANT (KEY... | where FILTER | percent P) [since TIME] ...:
// recomputing outputs, and moving keys to a flow variant with a reflow.
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "reprise/console/commands.h"
#include "reprise/console/completion.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"

namespace reprise::console {
namespace {

bool IsWord(const Token& t, const char* w) { return !t.quoted && t.text == w; }

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// Which keys a command is about, from the words after its fixed arguments:
// `where FILTER` (the rest is a filter), `percent P` (migrate only) or a
// list of keys. A quoted word is always a key.
struct KeySelection {
  std::vector<std::string> keys;
  std::string filter;
  std::optional<double> percent;
  std::string error;
};

KeySelection ParseKeySelection(const TokenizedLine& line, size_t first, size_t end,
                               const std::string& command, bool allow_percent) {
  KeySelection s;
  const auto& t = line.tokens;
  if (first >= end) {
    s.error = command + ": say which keys: KEY..., where FILTER" +
              (allow_percent ? ", or percent P" : "") + " (see help " + command + ")";
    return s;
  }
  if (IsWord(t[first], "where")) {
    s.filter = line.Span(first + 1, end);
    if (s.filter.empty()) s.error = command + ": where needs a filter";
    return s;
  }
  if (allow_percent && IsWord(t[first], "percent")) {
    char* stop = nullptr;
    double p = first + 2 == end ? std::strtod(t[first + 1].text.c_str(), &stop) : -1;
    if (first + 2 != end || stop == t[first + 1].text.c_str() || *stop != '\0' ||
        !(p >= 0 && p <= 100)) {
      s.error = command + ": percent takes one number from 0 to 100";
      return s;
    }
    s.percent = p;
    return s;
  }
  for (size_t i = first; i < end; ++i) s.keys.push_back(t[i].text);
  return s;
}

// ---- rederive ----------------------------------------------------------------

// Per key: "account:7  CHANGED" with the diff indented under it, then the
// counts.
std::string RenderRederive(const v1::RederiveResponse& r, bool dry_run, const Output& out) {
  std::string text;
  for (const auto& result : r.results()) {
    std::string key = SanitizeForTerminal(result.key());
    switch (result.kind()) {
      case v1::RederiveResult::UNCHANGED:
        text += key + "  " + out.Paint("UNCHANGED", Style::kGreen) + "\n";
        break;
      case v1::RederiveResult::CHANGED:
        text += key + "  " + out.Paint("CHANGED", Style::kYellow) + "\n";
        for (const auto& d : result.diff()) text += "    " + SanitizeForTerminal(d) + "\n";
        break;
      default:
        text += key + "  " + out.Paint("FAILED", Style::kRed) + "  " +
                SanitizeForTerminal(result.error()) + "\n";
        break;
    }
  }
  if (r.results().empty()) text += "no keys\n";
  text += (dry_run ? "dry run: " : "") + std::to_string(r.unchanged()) + " unchanged, " +
          std::to_string(r.changed()) + " changed, " + std::to_string(r.failed()) + " failed" +
          (dry_run && r.changed() > 0 ? " (nothing recorded or sent)" : "") + "\n";
  return text;
}

// The new outputs of a real run, one line per key.
std::string RenderRecorded(const v1::RederiveResponse& r) {
  if (r.changed() == 0) return "";
  std::string text = "recorded and sent " + Plural(r.changed(), "new output:", "new outputs:") + "\n";
  for (const auto& result : r.results()) {
    if (result.kind() != v1::RederiveResult::CHANGED) continue;
    text += "  " + SanitizeForTerminal(result.key()) + "  " + result.output_id() + "\n";
  }
  return text;
}

CommandStatus FailedKeys(const v1::RederiveResponse& r) {
  if (r.failed() == 0) return CommandStatus::Ok();
  return CommandStatus::Failed("rederive: " + Plural(r.failed(), "key", "keys") + " failed");
}

// A re-derive job that ended with failed keys fails the command, as inline.
CommandStatus FailedKeys(const v1::Job& ended) {
  if (ended.failed() == 0) return CommandStatus::Ok();
  return CommandStatus::Failed("rederive: " + Plural(ended.failed(), "key", "keys") +
                               " failed in job " + ended.id());
}

std::string StartedLine(const v1::Job& job) {
  return "started job " + job.id() + ": re-deriving " + Plural(job.total(), "key", "keys") +
         " with " + SanitizeForTerminal(job.deriver()) + (job.dry_run() ? " (dry run)" : "") + "\n";
}

// Runs the re-derive for real: inline, or as a job that is followed. `shown`:
// a dry run already printed the keys, so only the counts are repeated.
CommandStatus RunRederive(Session& session, v1::RederiveRequest request, bool shown = false);

CommandStatus Rederive(Session& session, const TokenizedLine& line) {
  const auto& t = line.tokens;
  size_t end = t.size();
  bool dry_run = false;
  if (end > 2 && IsWord(t[end - 1], "dry-run")) {
    dry_run = true;
    --end;
  }
  if (t.size() < 2) {
    return CommandStatus::Usage("usage: rederive DERIVER (KEY... | where FILTER) [dry-run]");
  }
  KeySelection keys = ParseKeySelection(line, 2, end, "rederive", false);
  if (!keys.error.empty()) return CommandStatus::Usage(keys.error);
  v1::RederiveRequest request;
  request.set_deriver(t[1].text);
  for (const auto& k : keys.keys) request.add_keys(k);
  request.set_filter(keys.filter);
  Output& out = session.output();

  // When the console asks (a terminal, without --yes) a real run is
  // preceded by a dry run, shown, and a question.
  const bool ask = !dry_run && session.asks();
  if (dry_run || ask) {
    request.set_dry_run(true);
    v1::RederiveResponse plan;
    grpc::Status rpc = session.agent().Rederive(request, &plan);
    if (!rpc.ok()) return session.RpcFailure(rpc);
    if (plan.has_job()) {
      // Too many keys to wait for: the dry run itself is a job.
      if (!out.json()) out.out() << StartedLine(plan.job()) << std::flush;
      v1::Job ended;
      CommandStatus followed = FollowJob(session, plan.job().id(), &ended);
      if (!followed.ok() || ended.id().empty()) return followed;
      if (dry_run) return FailedKeys(ended);
      if (ended.changed() == 0) {
        if (!out.json()) out.out() << "nothing to record\n";
        return FailedKeys(ended);
      }
      if (!session.Confirm("Record and send " +
                           Plural(ended.changed(), "changed output", "changed outputs") + "?")) {
        out.out() << "nothing recorded\n";
        return CommandStatus::Ok();
      }
      return RunRederive(session, request);
    }
    if (dry_run && out.json()) {
      session.PrintJson(plan);
      return FailedKeys(plan);
    }
    if (!out.json()) out.out() << RenderRederive(plan, true, out) << std::flush;
    if (dry_run) return FailedKeys(plan);
    if (plan.changed() == 0) {
      if (!out.json()) out.out() << "nothing to record\n";
      if (out.json()) session.PrintJson(plan);
      return FailedKeys(plan);
    }
    if (!session.Confirm("Record and send " +
                         Plural(plan.changed(), "changed output", "changed outputs") + "?")) {
      out.out() << "nothing recorded\n";
      return CommandStatus::Ok();
    }
  }
  return RunRederive(session, request, ask);
}

CommandStatus RunRederive(Session& session, v1::RederiveRequest request, bool shown) {
  Output& out = session.output();
  request.set_dry_run(false);
  v1::RederiveResponse done;
  grpc::Status rpc = session.agent().Rederive(request, &done);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  if (done.has_job()) {
    if (!out.json()) out.out() << StartedLine(done.job()) << std::flush;
    v1::Job ended;
    CommandStatus followed = FollowJob(session, done.job().id(), &ended);
    return followed.ok() && !ended.id().empty() ? FailedKeys(ended) : followed;
  }
  if (out.json()) {
    session.PrintJson(done);
  } else if (shown) {
    // The keys were shown by the dry run; say what the real run did.
    out.out() << std::to_string(done.unchanged()) << " unchanged, " << done.changed()
              << " changed, " << done.failed() << " failed\n"
              << RenderRecorded(done);
  } else {
    out.out() << RenderRederive(done, false, out) << RenderRecorded(done);
  }
  return FailedKeys(done);
}

std::vector<std::string> CompleteRederive(const CompletionRequest& request) {
  TokenizedLine args = Tokenize(request.args_before_word);
  if (args.tokens.empty()) return request.vocabulary.derivers;
  const auto& t = args.tokens;
  if (t.size() >= 2 && IsWord(t[1], "where")) {
    std::string_view before = request.args_before_word;
    size_t at = before.find(" where ");
    return CompleteFilter(before.substr(at + 7), request.vocabulary, {"dry-run"});
  }
  if (t.size() == 1) return {"where", "dry-run"};
  return {"dry-run"};
}

// ---- migrate -----------------------------------------------------------------

struct MigrateArgs {
  v1::MigrateRequest request;
  bool dry_run = false;
  std::string error;
};

MigrateArgs ParseMigrate(const TokenizedLine& line) {
  MigrateArgs args;
  auto& r = args.request;
  const auto& t = line.tokens;
  if (t.size() < 3) {
    args.error = "usage: migrate FLOW VARIANT (KEY... | where FILTER | percent P) [since TIME] "
                 "[rate N] [concurrency N] [dry-run]";
    return args;
  }
  r.set_flow(t[1].text);
  r.set_variant(t[2].text);
  size_t end = t.size();
  while (end > 3) {
    if (IsWord(t[end - 1], "dry-run")) {
      args.dry_run = true;
      --end;
      continue;
    }
    if (end < 5 || t[end - 2].quoted) break;
    const std::string& key = t[end - 2].text;
    const std::string& value = t[end - 1].text;
    if (key == "since") {
      if (!ParseSince(value, r.mutable_reflow_since())) {
        args.error = "migrate: since must be relative (-30m, -1h, -7d) or RFC 3339, not \"" +
                     SanitizeForTerminal(value) + "\"";
        return args;
      }
    } else if (key == "rate") {
      char* stop = nullptr;
      double rate = std::strtod(value.c_str(), &stop);
      if (value.empty() || *stop != '\0' || !(rate >= 0)) {
        args.error = "migrate: rate must be a number of messages per second, not \"" +
                     SanitizeForTerminal(value) + "\"";
        return args;
      }
      r.set_rate(rate);
    } else if (key == "concurrency") {
      uint32_t n = 0;
      auto [stop, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || stop != value.data() + value.size() || n == 0 || n > 1024) {
        args.error = "migrate: concurrency must be a number from 1 to 1024, not \"" +
                     SanitizeForTerminal(value) + "\"";
        return args;
      }
      r.set_concurrency(n);
    } else {
      break;
    }
    end -= 2;
  }
  KeySelection keys = ParseKeySelection(line, 3, end, "migrate", true);
  if (!keys.error.empty()) {
    args.error = keys.error;
    return args;
  }
  for (const auto& k : keys.keys) r.add_keys(k);
  r.set_filter(keys.filter);
  if (keys.percent) r.set_percent(*keys.percent);
  return args;
}

std::string RenderMigrateDryRun(const v1::MigrateRequest& request,
                                const v1::MigrateResponse& plan) {
  std::string flow = SanitizeForTerminal(request.flow());
  std::string variant = SanitizeForTerminal(request.variant());
  std::string text = "dry run: " + Plural(plan.keys(), "key", "keys") + " would move to " + variant +
                     " of " + flow;
  if (request.has_reflow_since()) {
    text += "; " + Plural(plan.messages(), "inbound message", "inbound messages") + " since " +
            FormatTimestamp(request.reflow_since().seconds(), request.reflow_since().nanos()) +
            " would be replayed\n";
  } else {
    text += "; no reflow (no since given)\n";
  }
  if (!plan.sample_keys().empty()) {
    text += "sample keys:";
    for (const auto& k : plan.sample_keys()) text += " " + SanitizeForTerminal(k);
    text += "\n";
  }
  return text;
}

CommandStatus Migrate(Session& session, const TokenizedLine& line) {
  MigrateArgs args = ParseMigrate(line);
  if (!args.error.empty()) return CommandStatus::Usage(args.error);
  Output& out = session.output();
  v1::MigrateRequest request = args.request;
  request.set_dry_run(true);
  v1::MigrateResponse plan;
  grpc::Status rpc = session.agent().Migrate(request, &plan);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  const bool by_percent = request.keys().empty() && request.filter().empty();
  if (out.json() && (args.dry_run || (plan.keys() == 0 && !by_percent))) {
    session.PrintJson(plan);
    return CommandStatus::Ok();
  }
  if (!out.json()) out.out() << RenderMigrateDryRun(request, plan) << std::flush;
  if (args.dry_run) return CommandStatus::Ok();
  if (plan.keys() == 0 && !by_percent) {
    out.out() << "nothing to migrate\n";
    return CommandStatus::Ok();
  }
  std::string flow = SanitizeForTerminal(request.flow());
  std::string variant = SanitizeForTerminal(request.variant());
  std::string question = "Move " + Plural(plan.keys(), "key", "keys") + " of " + flow + " to " +
                         variant;
  if (request.has_reflow_since()) {
    question += " and replay " + Plural(plan.messages(), "message", "messages");
  }
  if (!session.Confirm(question + "?")) {
    out.out() << "not migrated\n";
    return CommandStatus::Ok();
  }
  request.set_dry_run(false);
  v1::MigrateResponse done;
  rpc = session.agent().Migrate(request, &done);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  session.RefreshFlows();
  if (out.json()) {
    session.PrintJson(done);
  } else {
    out.out() << "flow " << flow << " is now version " << done.flow_version() << ": "
              << Plural(done.keys(), "key", "keys") << " moved to " << variant << "\n";
  }
  if (!done.has_job() || done.job().id().empty()) return CommandStatus::Ok();
  if (!out.json()) {
    out.out() << "started job " << done.job().id() << ": " << done.job().total()
              << " messages to self\n"
              << std::flush;
  }
  return FollowJob(session, done.job().id());
}

std::vector<std::string> CompleteMigrate(const CompletionRequest& request) {
  const auto& flows = request.vocabulary.flows;
  TokenizedLine args = Tokenize(request.args_before_word);
  const auto& t = args.tokens;
  std::vector<std::string> out;
  if (t.empty()) {
    for (const auto& [name, unused] : flows) out.push_back(name);
    return out;
  }
  if (t.size() == 1) {
    auto flow = flows.find(t[0].text);
    if (flow != flows.end()) out = flow->second;
    return out;
  }
  const std::vector<std::string> options = {"since", "rate", "concurrency", "dry-run"};
  const std::string& last = t.back().text;
  if (!t.back().quoted && (last == "since" || last == "rate" || last == "concurrency" ||
                           last == "percent")) {
    if (last == "since") return {"-1h", "-1d", "-7d"};
    return {};
  }
  if (t.size() == 2) return {"where", "percent"};
  if (IsWord(t[2], "where")) {
    std::string_view before = request.args_before_word;
    size_t at = before.find(" where ");
    return CompleteFilter(before.substr(at + 7), request.vocabulary, options);
  }
  return options;
}

}  // namespace

void RegisterDeriveCommands(CommandRegistry& registry) {
  registry.Add({
      .name = "rederive",
      .synopsis = "DERIVER (KEY... | where FILTER) [dry-run]",
      .summary = "recompute outputs from their inputs and compare, publishing the changed ones",
      .help = "Runs a deriver (status lists them) for keys and compares what it computes\n"
              "with the last output recorded for each key. The keys are the words after\n"
              "the deriver, or, after `where`, the distinct keys of the messages a filter\n"
              "selects. Quote a key that is literally where or dry-run.\n"
              "\n"
              "Per key: UNCHANGED; CHANGED with the difference indented under it (field\n"
              "by field for JSON, line by line otherwise); or FAILED with the error. Then\n"
              "\"N unchanged, M changed, K failed\".\n"
              "\n"
              "More than 100 keys run as a job (kind rederive) with live progress, as\n"
              "reflow does; it ends with the counts and the first changed keys (see their\n"
              "diffs with `rederive DERIVER KEY dry-run`). Ctrl-C detaches; the job keeps\n"
              "running (watch JOB, cancel JOB).\n"
              "\n"
              "Without dry-run, changed outputs are recorded as new outbound messages and\n"
              "sent, and their ids are printed. On a terminal a dry run is shown first\n"
              "and the console asks \"Record and send N changed outputs? [y/N]\" (not\n"
              "with --yes, nor in scripts). See docs/derive.md.\n"
              "\n"
              "Exit status 1 when a key failed or the call failed (NOT_FOUND for an\n"
              "unknown deriver). With --json, prints the RederiveResponse.\n"
              "\n"
              "Examples:\n"
              "  rederive balance account:7 account:9 dry-run\n"
              "  rederive balance where channel = \"payments.received\" dry-run\n"
              "  rederive balance account:7",
      .rpcs = {"Rederive", "WatchJob"},
      .handler = Rederive,
      .completer = CompleteRederive,
  });
  registry.Add({
      .name = "migrate",
      .synopsis = "FLOW VARIANT (KEY... | where FILTER | percent P) [since TIME] [rate N] "
                  "[concurrency N] [dry-run]",
      .summary = "move keys to a flow variant and replay their messages through it, as a job",
      .help = "Moves keys to a variant of a flow and, with since, replays their inbound\n"
              "messages recorded since then through the handlers (originals only), as one\n"
              "job. Migrating back to the old variant is the rollback. See docs/flows.md.\n"
              "\n"
              "Which keys, one of:\n"
              "  KEY...               these keys (quote a key named where or percent)\n"
              "  where FILTER         the distinct keys of the messages the filter selects\n"
              "  percent P            a rollout of VARIANT to P% of keys\n"
              "Options (at the end of the line, in any order):\n"
              "  since TIME           replay messages recorded since TIME: -30m, -2h, -7d or\n"
              "                       RFC 3339; without it, keys move and nothing is replayed\n"
              "  rate N               at most N messages per second (default: no limit)\n"
              "  concurrency N        keys in parallel; one key's messages stay in order\n"
              "  dry-run              only show what would happen\n"
              "\n"
              "First a dry run shows how many keys move (with a sample) and how many\n"
              "messages would be replayed. With dry-run the command stops there.\n"
              "Otherwise it asks \"Move N keys of FLOW to VARIANT and replay M messages?\n"
              "[y/N]\" on a terminal (not with --yes, nor in scripts), migrates, and shows\n"
              "the job's progress until it ends, as reflow does. Ctrl-C detaches: the job\n"
              "keeps running (watch JOB).\n"
              "\n"
              "Exit status 1 for an unknown flow (NOT_FOUND) or variant (INVALID_ARGUMENT,\n"
              "listing the variants), or a job that ended stopped. With --json: the dry run\n"
              "(a MigrateResponse) with dry-run, else the MigrateResponse and then the\n"
              "job's final JobProgress.\n"
              "\n"
              "Examples:\n"
              "  migrate ledger.rounding v2 account:7 since -1h dry-run\n"
              "  migrate ledger.rounding v2 where channel = \"payments.received\" since -7d\n"
              "  migrate ledger.rounding v2 percent 10 since -1d\n"
              "  migrate ledger.rounding v1 account:7 since -1h      (the rollback)",
      .rpcs = {"Migrate", "WatchJob", "ListFlows"},
      .handler = Migrate,
      .completer = CompleteMigrate,
  });
}

}  // namespace reprise::console
