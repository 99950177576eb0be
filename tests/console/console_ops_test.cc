// The operator commands of the real `reprise` binary, through pipes, against
// real reprise-test-host processes: reflow (dry run, jobs, copies, stopped
// jobs, cancel), watch, trace, export, knobs, flows and audit.
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

reprise::testing::CommandResult At(const testing::TestHost& host,
                                   const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--agent", host.address()};
  all.insert(all.end(), args.begin(), args.end());
  return RunReprise(all);
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

  auto jobs = At(host, {"-c", "jobs"});
  ASSERT_EQ(jobs.exit_code, 0) << jobs.err;
  auto lines = SplitLines(jobs.out);
  ASSERT_EQ(lines.size(), 2u) << jobs.out;
  for (const char* column : {"id", "state", "target", "done/total", "failed", "redelivered",
                             "created (UTC)", "filter", "reason"}) {
    EXPECT_TRUE(Contains(lines[0], column)) << column;
  }
  EXPECT_TRUE(Contains(lines[1], "completed  self")) << lines[1];
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

}  // namespace
}  // namespace reprise::console
