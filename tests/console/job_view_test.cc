#include "reprise/console/job_view.h"

#include <gtest/gtest.h>

#include "reprise/console/format.h"

namespace reprise::console {
namespace {

v1::JobProgress Progress(uint64_t done, uint64_t total) {
  v1::JobProgress p;
  p.mutable_job()->set_id("3");
  p.mutable_job()->set_state(v1::RUNNING);
  p.mutable_job()->set_total(total);
  p.mutable_job()->set_done(done);
  p.mutable_job()->set_failed(2);
  p.set_rate(12.5);
  p.set_eta_seconds(61);
  return p;
}

TEST(JobViewTest, ProgressLineHasCountsRateAndEta) {
  std::string line = RenderProgressLine(Progress(25, 100), 100);
  EXPECT_EQ(line.rfind("job 3  [##########..............................]", 0), 0u) << line;
  EXPECT_NE(line.find("25/100   25%  failed 2  12.5/s  ETA 1m 1s"), std::string::npos) << line;
  EXPECT_LE(DisplayWidth(line), 100u);
  EXPECT_LE(DisplayWidth(RenderProgressLine(Progress(25, 100), 40)), 40u);
  EXPECT_NE(RenderProgressLine(Progress(0, 0), 80).find("0/0  100%"), std::string::npos);
  v1::JobProgress unknown = Progress(1, 10);
  unknown.set_eta_seconds(0);
  EXPECT_NE(RenderProgressLine(unknown, 100).find("ETA -"), std::string::npos);
}

TEST(JobViewTest, SummaryNamesStateAndReason) {
  v1::Job job = Progress(7, 10).job();
  job.set_state(v1::STOPPED);
  job.set_reason("3 failed (max 2): downstream timeout");
  EXPECT_EQ(RenderJobSummary(job),
            "job 3 stopped: 7 of 10 replayed, 2 failed, 0 redelivered "
            "(3 failed (max 2): downstream timeout)");
  EXPECT_TRUE(JobEnded(v1::STOPPED));
  EXPECT_FALSE(JobEnded(v1::CANCELLING));
  EXPECT_EQ(TargetName(v1::TARGET_UNSPECIFIED), "self");
  EXPECT_EQ(JobStateName(v1::COMPLETED), "completed");
}

TEST(JobViewTest, RederiveJobsSayKeysChangedAndWhichOnes) {
  v1::Job job = Progress(4, 4).job();
  job.set_kind("rederive");
  job.set_deriver("balance");
  job.set_state(v1::COMPLETED);
  job.set_changed(3);
  job.add_changed_keys("account:1");
  job.add_changed_keys("account:2");
  EXPECT_EQ(RenderJobSummary(job),
            "job 3 completed: 4 of 4 keys re-derived with balance, 3 changed, 2 failed\n"
            "changed: account:1 account:2 ...");
  job.set_dry_run(true);
  EXPECT_EQ(JobKind(job), "rederive balance (dry run)");
  EXPECT_NE(RenderJobSummary(job).find("(dry run: nothing recorded or sent)"), std::string::npos);
  v1::JobProgress p;
  *p.mutable_job() = job;
  EXPECT_NE(RenderProgressLine(p, 120).find("changed 3"), std::string::npos);
  job.set_kind("reflow");
  job.set_target(v1::DOWNSTREAM);
  EXPECT_EQ(JobKind(job), "reflow downstream");
}

TEST(JobViewTest, DryRunListsCountsAndSample) {
  v1::DryRunSummary s;
  s.set_messages(1);
  s.set_keys(1);
  s.set_excluded(4);
  auto* g = s.add_by_outcome();
  g->set_value("FAILED");
  g->set_count(1);
  std::ostringstream sink;
  Output out(sink, sink, {});
  std::string text = RenderDryRun(s, v1::DOWNSTREAM, out);
  EXPECT_EQ(text.rfind("dry run: 1 message (1 key) would be replayed to downstream; 4 excluded "
                       "(other direction)\n",
                       0),
            0u)
      << text;
  EXPECT_NE(text.find("  outcome  count\n  FAILED       1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace reprise::console
