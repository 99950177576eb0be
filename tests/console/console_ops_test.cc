// The operator commands of the real `reprise` binary, through pipes, against
// real reprise-test-host processes: reflow (dry run, jobs, copies, stopped
// jobs, cancel), watch, trace, export, knobs, flows, audit, and rederive and
// migrate against the demo's ledger (reprise-test-host --ledger).
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "console_harness.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::console {
namespace {

using namespace std::chrono_literals;
using testing::RunReprise;
using testing::SplitLines;

template <typename Proto>
Proto ParseJson(const std::string& line) {
  Proto proto;
  auto status = google::protobuf::util::JsonStringToMessage(line, &proto);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << line;
  return proto;
}

reprise::testing::CommandResult At(const testing::TestHost& host, const std::vector<std::string>& args,
                                   const std::vector<std::string>& env = {}) {
  std::vector<std::string> all = {"--agent", host.address()};
  all.insert(all.end(), args.begin(), args.end());
  return RunReprise(all, "", env);
}

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// 50 inbound payments fail ("bad" amounts over 5 keys); then the fix is
// deployed (a --fixed host on the same journal) and they are reflowed.
TEST(ConsoleReflowTest, DryRunThenReflowTheFixAndFollowTheCopies) {
  reprise::testing::TempDir dir;
  const std::string journal = dir.File("reflow.journal");
  {
    testing::TestHost broken({"--no-seed", "--seed-failures", "50"}, journal);
    ASSERT_FALSE(broken.address().empty());
  }
  testing::TestHost host({"--no-seed", "--fixed"}, journal);
  ASSERT_FALSE(host.address().empty());

  auto dry = At(host, {"-c", "reflow outcome = failed dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_TRUE(Contains(dry.out, "dry run: 50 messages (5 keys) would be replayed to self; "
                                "0 excluded (other direction)\n"))
      << dry.out;
  EXPECT_TRUE(Contains(dry.out, "payments.received     50")) << dry.out;
  EXPECT_TRUE(Contains(dry.out, "sample (oldest first):")) << dry.out;
  EXPECT_FALSE(Contains(dry.out, "started job")) << "a dry run starts nothing";

  auto dry_json = At(host, {"--json", "-c", "reflow outcome = failed dry-run"});
  ASSERT_EQ(dry_json.exit_code, 0) << dry_json.err;
  auto plan = ParseJson<v1::StartReflowResponse>(dry_json.out);
  EXPECT_EQ(plan.dry_run().messages(), 50u);
  EXPECT_EQ(plan.dry_run().keys(), 5u);
  EXPECT_FALSE(plan.has_job());

  // Not on a terminal: no question; the job id on start, a summary at the end.
  auto run = At(host, {"-c", "reflow channel = \"payments.received\" and outcome = failed "
                             "concurrency 2"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.out, "started job 1: 50 messages to self\n")) << run.out;
  EXPECT_TRUE(Contains(run.out, "job 1 completed: 50 of 50 replayed, 0 failed, 0 redelivered\n"))
      << run.out;
  EXPECT_FALSE(Contains(run.out, "\r")) << "no progress redraw through a pipe";

  // The copies: one per original, linked by origin and job, now ok.
  auto copies = At(host, {"--json", "-c", "find job = 1 and direction = in limit 1000"});
  ASSERT_EQ(copies.exit_code, 0) << copies.err;
  auto listed = ParseJson<v1::ListMessagesResponse>(copies.out);
  ASSERT_EQ(listed.messages_size(), 50);
  for (const auto& m : listed.messages()) {
    EXPECT_EQ(m.outcome(), v1::OK) << m.id();
    EXPECT_FALSE(m.origin_id().empty());
  }
  const v1::Message& copy = listed.messages(0);
  auto by_origin = At(host, {"-c", "find origin = " + copy.origin_id()});
  ASSERT_EQ(by_origin.exit_code, 0) << by_origin.err;
  EXPECT_TRUE(Contains(by_origin.out, copy.id())) << by_origin.out;

  auto jobs = At(host, {"-c", "jobs"}, {"COLUMNS=250"});  // a line per job
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  auto lines = SplitLines(jobs.out);
  ASSERT_EQ(lines.size(), 2u) << jobs.out;
  for (const char* column : {"id", "state", "kind", "done/total", "failed", "redelivered",
                             "created (UTC)", "filter", "reason"}) {
    EXPECT_TRUE(Contains(lines[0], column)) << column;
  }
  EXPECT_TRUE(Contains(lines[1], "completed  reflow self")) << lines[1];
  EXPECT_TRUE(Contains(lines[1], "50/50")) << lines[1];
  auto jobs_json = ParseJson<v1::ListJobsResponse>(At(host, {"--json", "-c", "jobs"}).out);
  ASSERT_EQ(jobs_json.jobs_size(), 1);
  EXPECT_EQ(jobs_json.jobs(0).state(), v1::COMPLETED);

  // Watching an ended job prints its summary at once.
  auto watch = At(host, {"-c", "watch 1"});
  EXPECT_EQ(watch.exit_code, 0) << watch.err;
  EXPECT_EQ(watch.out, "job 1 completed: 50 of 50 replayed, 0 failed, 0 redelivered\n");
  auto watch_json = At(host, {"--json", "-c", "watch 1"});
  ASSERT_EQ(watch_json.exit_code, 0) << watch_json.err;
  auto final = ParseJson<v1::JobProgress>(watch_json.out);
  EXPECT_TRUE(final.final());
  EXPECT_EQ(final.job().done(), 50u);

  // trace: the original, its copy (job 1) and the copy's effect.
  auto trace = At(host, {"-c", "trace " + copy.origin_id()});
  ASSERT_EQ(trace.exit_code, 0) << trace.err;
  auto tl = SplitLines(trace.out);
  ASSERT_EQ(tl.size(), 3u) << trace.out;
  EXPECT_EQ(tl[0].rfind(copy.origin_id() + "  in  payments.received  ", 0), 0u) << tl[0];
  EXPECT_TRUE(Contains(tl[0], "failed: invalid amount \"bad\"")) << tl[0];
  EXPECT_TRUE(Contains(tl[0], "<- traced")) << tl[0];
  EXPECT_EQ(tl[1].rfind("`-- " + copy.id() + "  in  payments.received  ", 0), 0u) << tl[1];
  EXPECT_TRUE(Contains(tl[1], "ok  (copy, job 1)")) << tl[1];
  EXPECT_TRUE(Contains(tl[2], "    `-- ")) << tl[2];
  EXPECT_TRUE(Contains(tl[2], "out  balance.updated")) << tl[2];

  // From the copy's effect, the chain of causes comes above it.
  auto trace_json = At(host, {"--json", "-c", "trace " + copy.id()});
  ASSERT_EQ(trace_json.exit_code, 0) << trace_json.err;
  EXPECT_TRUE(Contains(trace_json.out, "\"tree\":{\"message\":{\"id\":\"" + copy.id()))
      << trace_json.out;

  // The audit trail has the start (and the dry runs).
  auto audit = At(host, {"-c", "audit action=StartReflow"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_TRUE(Contains(audit.out, "StartReflow")) << audit.out;
  auto audit_json = ParseJson<v1::ListAuditResponse>(
      At(host, {"--json", "-c", "audit action=StartReflow since=-1h limit 2"}).out);
  EXPECT_EQ(audit_json.records_size(), 2);
}

TEST(ConsoleReflowTest, ErrorsAndExitStatuses) {
  testing::TestHost host;
  ASSERT_FALSE(host.address().empty());
  auto bad = At(host, {"-c", "reflow chanel = \"payments.received\""});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err.rfind("INVALID_ARGUMENT: ", 0), 0u) << bad.err;
  EXPECT_TRUE(Contains(bad.err, "unknown field \"chanel\"")) << bad.err;

  for (const char* cmd : {"watch 999", "cancel 999"}) {
    auto missing = At(host, {"-c", cmd});
    EXPECT_EQ(missing.exit_code, 1) << cmd;
    EXPECT_EQ(missing.err.rfind("NOT_FOUND: ", 0), 0u) << cmd << ": " << missing.err;
  }
  auto json = At(host, {"--json", "-c", "watch 999"});
  EXPECT_EQ(json.out.rfind("{\"error\":{\"code\":\"NOT_FOUND\"", 0), 0u) << json.out;

  EXPECT_EQ(At(host, {"-c", "reflow outcome = failed to sideways"}).exit_code, 2);
  EXPECT_EQ(At(host, {"-c", "reflow outcome = failed concurrency 0"}).exit_code, 2);
  EXPECT_EQ(At(host, {"-c", "reflow dry-run"}).exit_code, 2);
  EXPECT_EQ(At(host, {"-c", "watch"}).exit_code, 2);
  EXPECT_EQ(At(host, {"-c", "audit since=yesterday"}).exit_code, 2);
}

TEST(ConsoleReflowTest, AJobStoppedByMaxFailuresExitsOne) {
  testing::TestHost host({"--no-seed", "--seed-failures", "20"});
  ASSERT_FALSE(host.address().empty());
  // The handler is not fixed: every replay fails again.
  auto r = At(host, {"-c", "reflow outcome = failed max-failures 2"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(Contains(r.out, "job 1 stopped: ")) << r.out;
  EXPECT_EQ(r.err.rfind("job 1 stopped: ", 0), 0u) << r.err;
}

TEST(ConsoleReflowTest, CancelARunningJob) {
  testing::TestHost host({"--no-seed", "--seed-failures", "200", "--fixed",
                          "--handler-delay-ms", "20"});
  ASSERT_FALSE(host.address().empty());
  auto follower = reprise::testing::Subprocess::Start(
      {reprise::testing::BinaryPath("reprise"), "--agent", host.address(), "-c",
       "reflow direction = in rate 20"});
  ASSERT_TRUE(follower.has_value());
  auto started = follower->WaitForLine("started job ", 30s);
  ASSERT_TRUE(started.has_value());
  EXPECT_EQ(*started, "started job 1: 200 messages to self");
  auto cancel = At(host, {"-c", "cancel 1 enough for today"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_TRUE(Contains(cancel.out, "job 1 cancel")) << cancel.out;
  EXPECT_EQ(follower->Wait(30s), 0);
  std::string rest = follower->ReadAll(5s);
  EXPECT_TRUE(Contains(rest, "job 1 cancelled: ")) << rest;
  auto jobs = ParseJson<v1::ListJobsResponse>(At(host, {"--json", "-c", "jobs"}).out);
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).state(), v1::CANCELLED);
  EXPECT_LT(jobs.jobs(0).done(), 200u);
}

TEST(ConsoleExportTest, ExportWritesJsonLinesThatParseBack) {
  testing::TestHost host;
  ASSERT_FALSE(host.address().empty());
  reprise::testing::TempDir dir;
  const std::string file = dir.File("failed.jsonl");
  auto count = ParseJson<v1::CountMessagesResponse>(
      At(host, {"--json", "-c", "count outcome = failed"}).out);
  ASSERT_GT(count.total(), 0u);

  auto r = At(host, {"-c", "export outcome = failed " + file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "exported " + std::to_string(count.total()) + " messages to " + file + "\n");
  std::ifstream in(file);
  std::vector<v1::Message> messages;
  for (std::string line; std::getline(in, line);) {
    EXPECT_EQ(line.find("\"correlationId\""), std::string::npos) << "proto field names";
    messages.push_back(ParseJson<v1::Message>(line));
  }
  ASSERT_EQ(messages.size(), count.total());
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].outcome(), v1::FAILED);
    EXPECT_EQ(messages[i].payload().size(), messages[i].payload_size()) << "payload included";
    if (i > 0) {
      EXPECT_LT(messages[i - 1].id(), messages[i].id()) << "oldest first";
    }
  }

  auto again = At(host, {"-c", "export outcome = failed " + file});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(Contains(again.err, "already exists; not overwriting it (use --yes")) << again.err;
  auto forced = At(host, {"--yes", "--json", "-c", "export outcome = ok " + file});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(forced.out.rfind("{\"file\":", 0), 0u) << forced.out;
}

TEST(ConsoleFlowsTest, KnobsFlowsAndTheirAudit) {
  testing::TestHost host({"--flows"});
  ASSERT_FALSE(host.address().empty());
  auto knobs = At(host, {"-c", "knobs"});
  ASSERT_EQ(knobs.exit_code, 0) << knobs.err;
  EXPECT_TRUE(Contains(knobs.out, "flow.probe  keys=STRING")) << knobs.out;

  auto missing = At(host, {"-c", "knob flow.probe"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("INVALID_ARGUMENT: knob flow.probe: missing argument \"keys\"; ", 0),
            0u)
      << missing.err;
  EXPECT_EQ(At(host, {"-c", "knob flow.probe keys"}).exit_code, 2);

  auto probe = At(host, {"-c", "knob flow.probe keys=a,b"});
  ASSERT_EQ(probe.exit_code, 0) << probe.err;
  EXPECT_EQ(probe.out, "a=v1,b=v1\n");

  auto flows = At(host, {"-c", "flows"});
  ASSERT_EQ(flows.exit_code, 0) << flows.err;
  EXPECT_TRUE(Contains(flows.out, "test.flow  v1, v2, v3  v1")) << flows.out;

  auto set = At(host, {"-c", "flow set test.flow default=v2 a=v3 reason trying v3 on a"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "flow test.flow is now version 2: default v2, rollout -, 1 assignment\n");
  EXPECT_EQ(At(host, {"-c", "knob flow.probe keys=a,b"}).out, "a=v3,b=v2\n");

  auto show = At(host, {"-c", "flow show test.flow"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  for (const char* expected : {"flow          test.flow\n", "default       v2\n",
                               "version       2\n", "reason        trying v3 on a\n",
                               "assignments (1)\n", "history (newest first)\n"}) {
    EXPECT_TRUE(Contains(show.out, expected)) << expected << "\n" << show.out;
  }
  auto json = ParseJson<v1::GetFlowResponse>(
      At(host, {"--json", "-c", "flow show test.flow"}).out);
  EXPECT_EQ(json.flow().default_variant(), "v2");
  ASSERT_EQ(json.assignments_size(), 1);
  EXPECT_EQ(json.assignments(0).key(), "a");

  auto bad = At(host, {"-c", "flow set test.flow default=v9"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.err.rfind("INVALID_ARGUMENT: ", 0), 0u) << bad.err;
  EXPECT_EQ(At(host, {"-c", "flow set test.flow rollout=v2"}).exit_code, 2);

  auto audit = At(host, {"-c", "audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_TRUE(Contains(audit.out, "SetFlow")) << audit.out;
  EXPECT_TRUE(Contains(audit.out, "InvokeKnob")) << audit.out;
  auto failed = ParseJson<v1::ListAuditResponse>(
      At(host, {"--json", "-c", "audit failed"}).out);
  ASSERT_GE(failed.records_size(), 2);
  for (const auto& r : failed.records()) EXPECT_FALSE(r.ok());
}

// The ledger seeds 1.005 + 2.105 + 3.000 on account:1..4: 6.10 with v1's
// truncation, 6.12 with v2's rounding.
TEST(ConsoleDeriveTest, MigrateTwoOfFourAccountsThenRederive) {
  testing::TestHost host({"--ledger"});
  ASSERT_FALSE(host.address().empty());
  const std::string all_keys = "rederive balance where channel = \"payments.received\" dry-run";
  auto before = At(host, {"-c", all_keys});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(before.out,
            "account:1  UNCHANGED\naccount:2  UNCHANGED\naccount:3  UNCHANGED\n"
            "account:4  UNCHANGED\ndry run: 4 unchanged, 0 changed, 0 failed\n");

  auto plan_json = At(host, {"--json", "-c",
                             "migrate ledger.rounding v2 account:3 account:4 since -1h dry-run"});
  ASSERT_EQ(plan_json.exit_code, 0) << plan_json.err;
  auto plan = ParseJson<v1::MigrateResponse>(plan_json.out);
  EXPECT_EQ(plan.keys(), 2u);
  EXPECT_EQ(plan.messages(), 6u);
  EXPECT_EQ(plan.flow_version(), 0);
  EXPECT_FALSE(plan.has_job());

  // Not on a terminal: the dry run, no question, the flip, the job.
  auto run = At(host, {"-c", "migrate ledger.rounding v2 account:3 account:4 since -1h"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto lines = SplitLines(run.out);
  ASSERT_EQ(lines.size(), 5u) << run.out;
  EXPECT_EQ(lines[0].rfind("dry run: 2 keys would move to v2 of ledger.rounding; 6 inbound "
                           "messages since ",
                           0),
            0u)
      << lines[0];
  EXPECT_TRUE(Contains(lines[0], " would be replayed")) << lines[0];
  EXPECT_EQ(lines[1], "sample keys: account:3 account:4");
  EXPECT_TRUE(Contains(lines[2], "flow ledger.rounding is now version ")) << lines[2];
  EXPECT_TRUE(Contains(lines[2], ": 2 keys moved to v2")) << lines[2];
  EXPECT_EQ(lines[3], "started job 1: 6 messages to self");
  EXPECT_EQ(lines[4], "job 1 completed: 6 of 6 replayed, 0 failed, 0 redelivered");

  // The migrated accounts now agree with v2; those left on v1 were untouched.
  auto after = At(host, {"-c", all_keys});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  auto v2 = ParseJson<v1::ListMessagesResponse>(
      At(host, {"--json", "-c", "find channel = \"balance.updated\" and key = \"account:3\" limit 1"})
          .out);
  ASSERT_EQ(v2.messages_size(), 1);
  auto latest = ParseJson<v1::GetMessageResponse>(
      At(host, {"--json", "-c", "show " + v2.messages(0).id()}).out);
  EXPECT_TRUE(Contains(latest.message().payload(), "\"balance\":\"6.12\""))
      << latest.message().payload();
  auto untouched = ParseJson<v1::CountMessagesResponse>(
      At(host, {"--json", "-c", "count channel = \"balance.updated\" and key = \"account:1\""}).out);
  EXPECT_EQ(untouched.total(), 3u) << "account:1 got no new output";

  // account:1 switched to v2 without a migration: the dry run shows the diff.
  ASSERT_EQ(At(host, {"-c", "flow set ledger.rounding account:1=v2"}).exit_code, 0);
  auto changed = At(host, {"-c", "rederive balance account:1 account:2 dry-run"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(changed.out,
            "account:1  CHANGED\n"
            "    balance: \"6.10\" -> \"6.12\"\n"
            "    rounding: \"v1\" -> \"v2\"\n"
            "account:2  UNCHANGED\n"
            "dry run: 1 unchanged, 1 changed, 0 failed (nothing recorded or sent)\n");
  auto changed_json = At(host, {"--json", "-c", "rederive balance account:1 dry-run"});
  ASSERT_EQ(changed_json.exit_code, 0) << changed_json.err;
  auto diff = ParseJson<v1::RederiveResponse>(changed_json.out);
  ASSERT_EQ(diff.results_size(), 1);
  EXPECT_EQ(diff.results(0).kind(), v1::RederiveResult::CHANGED);
  EXPECT_EQ(diff.changed(), 1u);
  EXPECT_TRUE(diff.results(0).output_id().empty()) << "a dry run records nothing";

  // For real (no question off a terminal): recorded and sent, then unchanged.
  auto publish = At(host, {"-c", "rederive balance account:1"});
  ASSERT_EQ(publish.exit_code, 0) << publish.err;
  auto pl = SplitLines(publish.out);
  ASSERT_EQ(pl.size(), 6u) << publish.out;
  EXPECT_EQ(pl[3], "0 unchanged, 1 changed, 0 failed");
  EXPECT_EQ(pl[4], "recorded and sent 1 new output:");
  EXPECT_EQ(pl[5].rfind("  account:1  ", 0), 0u) << pl[5];
  auto again = ParseJson<v1::RederiveResponse>(
      At(host, {"--json", "-c", "rederive balance account:1"}).out);
  ASSERT_EQ(again.results_size(), 1);
  EXPECT_EQ(again.results(0).kind(), v1::RederiveResult::UNCHANGED);

  // The rollback of account:4, with --json: the MigrateResponse, then the job.
  auto back = At(host, {"--json", "-c", "migrate ledger.rounding v1 account:4 since -1h"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  auto bl = SplitLines(back.out);
  ASSERT_EQ(bl.size(), 2u) << back.out;
  auto migrated = ParseJson<v1::MigrateResponse>(bl[0]);
  EXPECT_EQ(migrated.keys(), 1u);
  EXPECT_GT(migrated.flow_version(), 0);
  ASSERT_TRUE(migrated.has_job());
  auto progress = ParseJson<v1::JobProgress>(bl[1]);
  EXPECT_EQ(progress.job().id(), migrated.job().id());
  EXPECT_EQ(progress.job().state(), v1::COMPLETED);
  EXPECT_EQ(progress.job().done(), 3u);
  EXPECT_EQ(At(host, {"-c", all_keys}).out, before.out);

  // The audit log holds every mutating call this test made, newest first:
  // who made it, the request and the result. A `migrate` is two calls (its
  // dry run, then the flip); a `rederive` off a terminal is one.
  auto audit = ParseJson<v1::ListAuditResponse>(At(host, {"--json", "-c", "audit"}).out);
  std::vector<std::string> actions;
  for (const auto& r : audit.records()) actions.push_back(r.action());
  const std::vector<std::string> oldest_first = {
      "Rederive", "Migrate",  "Migrate",  "Migrate",  "Rederive", "SetFlow", "Rederive",
      "Rederive", "Rederive", "Rederive", "Migrate",  "Migrate",  "Rederive"};
  EXPECT_EQ(actions, std::vector<std::string>(oldest_first.rbegin(), oldest_first.rend()));
  int dry_runs = 0;
  for (const auto& r : audit.records()) {
    EXPECT_TRUE(r.ok()) << r.action() << ": " << r.result();
    EXPECT_EQ(r.result(), "OK");
    EXPECT_NE(r.who().find("127.0.0.1"), std::string::npos) << r.who();
    EXPECT_TRUE(r.at().seconds() > 0);
    EXPECT_TRUE(Contains(r.request(), r.action() == "Rederive" ? "\"deriver\":\"balance\""
                                                               : "\"flow\":\"ledger.rounding\""))
        << r.request();
    if (Contains(r.request(), "\"dry_run\":true")) ++dry_runs;
  }
  EXPECT_EQ(dry_runs, 8) << "every rederive but the two real ones, and three migrate plans";
  ASSERT_EQ(audit.records_size(), 13);
  EXPECT_TRUE(Contains(audit.records(7).request(), "\"account:1\":\"v2\"")) << "the flow set";
  EXPECT_TRUE(Contains(audit.records(1).request(), "\"variant\":\"v1\"")) << "the rollback";
}

TEST(ConsoleDeriveTest, ErrorsAndExitStatuses) {
  testing::TestHost host({"--ledger"});
  ASSERT_FALSE(host.address().empty());
  auto deriver = At(host, {"-c", "rederive balanse account:1 dry-run"});
  EXPECT_EQ(deriver.exit_code, 1);
  EXPECT_EQ(deriver.err.rfind("NOT_FOUND: ", 0), 0u) << deriver.err;
  auto json = At(host, {"--json", "-c", "rederive balanse account:1"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(json.out.rfind("{\"error\":{\"code\":\"NOT_FOUND\"", 0), 0u) << json.out;

  auto variant = At(host, {"-c", "migrate ledger.rounding v3 account:1 since -1h"});
  EXPECT_EQ(variant.exit_code, 1);
  EXPECT_EQ(variant.err.rfind("INVALID_ARGUMENT: ", 0), 0u) << variant.err;
  EXPECT_TRUE(Contains(variant.err, "v1")) << variant.err;
  EXPECT_TRUE(Contains(variant.err, "v2")) << variant.err;
  EXPECT_EQ(variant.out, "") << "nothing was planned";
  auto flow = At(host, {"-c", "migrate ledger.roundin v2 account:1"});
  EXPECT_EQ(flow.exit_code, 1);
  EXPECT_EQ(flow.err.rfind("NOT_FOUND: ", 0), 0u) << flow.err;

  for (const char* usage :
       {"rederive", "rederive balance", "rederive balance dry-run", "rederive balance where",
        "migrate ledger.rounding v2", "migrate ledger.rounding v2 since -1h",
        "migrate ledger.rounding v2 account:1 since yesterday",
        "migrate ledger.rounding v2 percent 150", "migrate ledger.rounding v2 account:1 rate x",
        "migrate ledger.rounding v2 account:1 concurrency 0"}) {
    EXPECT_EQ(At(host, {"-c", usage}).exit_code, 2) << usage;
  }
  // Nothing moved.
  auto flows = At(host, {"-c", "flow show ledger.rounding"});
  EXPECT_TRUE(Contains(flows.out, "assignments (0)")) << flows.out;
}

}  // namespace
}  // namespace reprise::console
