// The reflow engine against a real SQLite journal, with a Dispatcher that
// records what it was asked to deliver (and writes the copies like the agent).
#include "reprise/reflow/engine.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "reprise/base/clock.h"
#include "reprise/base/ulid.h"
#include "reprise/store/instance.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class RecordingDispatcher final : public Dispatcher {
 public:
  explicit RecordingDispatcher(Journal* journal) : journal_(journal) {}

  DispatchResult Redeliver(const Message& original, ReflowTarget target, const std::string& job_id,
                           bool redelivery) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    Message copy = original;
    copy.id = ids_.Next(NowUs() / 1000);
    copy.origin_id = original.id;
    copy.job_id = job_id;
    copy.outcome = fail_keys_.count(original.key) ? Outcome::kFailed : Outcome::kOk;
    copy.error = copy.outcome == Outcome::kFailed ? "still broken" : "";
    WriteBatch b;
    b.messages.push_back(copy);
    EXPECT_TRUE(journal_->Write(b, false).ok());
    std::lock_guard<std::mutex> lock(mu_);
    delivered_.push_back(original.id);
    per_key_[original.key].push_back(original.id);
    batch_keys_.insert(original.key);
    targets_.push_back(target);
    if (redelivery) redelivered_.push_back(original.id);
    return {copy.id, copy.outcome, copy.error};
  }
  DispatchResult Rederive(const std::string& deriver, const std::string& key,
                          const std::string& job_id, bool dry_run) override {
    std::lock_guard<std::mutex> lock(mu_);
    rederived_.push_back(deriver + ":" + key);
    if (fail_keys_.count(key)) return {"", Outcome::kFailed, "deriver broken"};
    bool changed = change_keys_.count(key) > 0;
    std::string output = changed && !dry_run ? "out-" + key + "-" + job_id : "";
    return {output, Outcome::kOk, "", changed};
  }
  // The engine flushes once per claimed batch.
  Status Flush() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!batch_keys_.empty()) keys_per_batch_.push_back(batch_keys_.size());
    batch_keys_.clear();
    return Status::Ok();
  }
  std::vector<size_t> keys_per_batch() {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_per_batch_;
  }

  std::vector<std::string> delivered() {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }
  std::map<std::string, std::vector<std::string>> per_key() {
    std::lock_guard<std::mutex> lock(mu_);
    return per_key_;
  }
  std::vector<std::string> redelivered() {
    std::lock_guard<std::mutex> lock(mu_);
    return redelivered_;
  }
  std::vector<std::string> rederived() {
    std::lock_guard<std::mutex> lock(mu_);
    return rederived_;
  }

  std::chrono::milliseconds delay_{0};
  std::set<std::string> fail_keys_;
  std::set<std::string> change_keys_;  // re-derive reports these as changed

 private:
  Journal* journal_;
  UlidGenerator ids_;
  std::mutex mu_;
  std::vector<std::string> delivered_, redelivered_, rederived_;
  std::map<std::string, std::vector<std::string>> per_key_;
  std::vector<ReflowTarget> targets_;
  std::set<std::string> batch_keys_;
  std::vector<size_t> keys_per_batch_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("reflow.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    dispatcher_ = std::make_unique<RecordingDispatcher>(journal_.get());
    engine_ = std::make_unique<ReflowEngine>(journal_.get(), dispatcher_.get(),
                                             EngineOptions{.instance = "test", .batch_size = 16});
  }

  // Records `n` inbound failed messages over `keys` keys, oldest first.
  std::vector<Message> Seed(int n, int keys, Outcome outcome = Outcome::kFailed,
                            Direction direction = Direction::kIn) {
    std::vector<Message> out;
    WriteBatch b;
    for (int i = 0; i < n; ++i) {
      Message m;
      int64_t now = NowUs();
      m.id = ids_.Next(now / 1000);
      m.recorded_at_us = now;
      m.direction = direction;
      m.channel = direction == Direction::kIn ? "payments.received" : "balance.updated";
      m.key = "account:" + std::to_string(i % keys);
      m.payload = "{\"n\":" + std::to_string(i) + "}";
      m.outcome = outcome;
      b.messages.push_back(m);
      out.push_back(m);
    }
    EXPECT_TRUE(journal_->Write(b, false).ok());
    return out;
  }

  JobRecord WaitForEnd(const std::string& id, std::chrono::seconds timeout = 30s) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto p = engine_->Progress(id);
      EXPECT_TRUE(p.ok());
      if (p.ok() && IsFinal(p->job.state)) return p->job;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "job " << id << " did not end in time";
    return {};
  }

  // Every row of every table, to compare the journal before and after.
  std::string Dump() {
    sqlite3* db = nullptr;
    sqlite3_open(dir_.File("reflow.journal").c_str(), &db);
    std::string out;
    for (const char* table : {"messages", "jobs", "job_items"}) {
      std::string sql = std::string("SELECT * FROM ") + table + " ORDER BY 1, 2";
      sqlite3_stmt* s = nullptr;
      sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
      while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(s); ++c) {
          const unsigned char* t = sqlite3_column_text(s, c);
          out += t ? reinterpret_cast<const char*>(t) : "NULL";
          out += '|';
        }
        out += '\n';
      }
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return out;
  }

  testing::TempDir dir_;
  UlidGenerator ids_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<RecordingDispatcher> dispatcher_;
  std::unique_ptr<ReflowEngine> engine_;
};

TEST_F(EngineTest, ReplaysTheSelectionOnceInPerKeyOrder) {
  std::vector<Message> seeded = Seed(100, 7);
  Seed(10, 3, Outcome::kOk);  // not selected
  auto job = engine_->Start({.filter = "outcome = failed", .concurrency = 4});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 100u);
  JobRecord end = WaitForEnd(job->id);
  EXPECT_EQ(end.state, JobState::kCompleted);
  EXPECT_EQ(end.done, 100u);
  EXPECT_EQ(end.failed, 0u);

  std::vector<std::string> delivered = dispatcher_->delivered();
  std::set<std::string> unique(delivered.begin(), delivered.end());
  EXPECT_EQ(delivered.size(), 100u);
  EXPECT_EQ(unique.size(), 100u) << "nothing is delivered twice";
  std::map<std::string, std::vector<std::string>> expected;
  for (const Message& m : seeded) expected[m.key].push_back(m.id);
  EXPECT_EQ(dispatcher_->per_key(), expected) << "recorded order is kept within each key";
}

TEST_F(EngineTest, TheSelectionIsFixedWhenTheJobStarts) {
  Seed(20, 2);
  dispatcher_->delay_ = 5ms;
  auto job = engine_->Start({.filter = "outcome = failed"});
  ASSERT_TRUE(job.ok());
  Seed(20, 2);  // arrive after the start: must not join
  JobRecord end = WaitForEnd(job->id);
  EXPECT_EQ(end.total, 20u);
  EXPECT_EQ(end.done, 20u);
  EXPECT_EQ(dispatcher_->delivered().size(), 20u);
}

TEST_F(EngineTest, TargetSelectsTheDirection) {
  Seed(5, 1, Outcome::kFailed, Direction::kIn);
  Seed(3, 1, Outcome::kFailed, Direction::kOut);
  auto plan = engine_->DryRun({.filter = "outcome = failed", .target = ReflowTarget::kDownstream});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->messages, 3u);
  EXPECT_EQ(plan->excluded, 5u);
  auto job = engine_->Start({.filter = "outcome = failed", .target = ReflowTarget::kDownstream});
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(WaitForEnd(job->id).done, 3u);
}

TEST_F(EngineTest, DryRunReportsAndChangesNothing) {
  Seed(12, 4);
  Seed(5, 5, Outcome::kOk);
  std::string before = Dump();
  auto plan = engine_->DryRun({.filter = "channel = \"payments.received\""});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->messages, 17u);
  EXPECT_EQ(plan->keys, 5u);
  ASSERT_EQ(plan->by_channel.size(), 1u);
  EXPECT_EQ(plan->by_channel[0].count, 17u);
  ASSERT_EQ(plan->by_outcome.size(), 2u);
  EXPECT_EQ(plan->by_outcome[0].group, "failed");
  EXPECT_EQ(plan->by_outcome[0].count, 12u);
  EXPECT_EQ(plan->sample.size(), 5u);
  EXPECT_EQ(Dump(), before) << "a dry run must leave the journal identical";
  EXPECT_TRUE(dispatcher_->delivered().empty());
}

TEST_F(EngineTest, MaxFailuresStopsTheJobWithAReason) {
  Seed(50, 5);
  dispatcher_->fail_keys_ = {"account:0", "account:1", "account:2", "account:3", "account:4"};
  auto job = engine_->Start({.filter = "outcome = failed", .max_failures = 5});
  ASSERT_TRUE(job.ok());
  JobRecord end = WaitForEnd(job->id);
  EXPECT_EQ(end.state, JobState::kStopped);
  EXPECT_EQ(end.failed, 6u);
  EXPECT_NE(end.reason.find("max_failures 5"), std::string::npos) << end.reason;
  EXPECT_NE(end.reason.find("still broken"), std::string::npos) << end.reason;
  EXPECT_LT(dispatcher_->delivered().size(), 50u);
}

TEST_F(EngineTest, CancelStopsAJobWithinASecond) {
  Seed(1000, 10);
  auto job = engine_->Start({.filter = "outcome = failed", .rate = 20});
  ASSERT_TRUE(job.ok());
  std::this_thread::sleep_for(300ms);
  auto t0 = Clock::now();
  auto cancelled = engine_->Cancel(job->id, "testing");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  JobRecord end = WaitForEnd(job->id, 5s);
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_EQ(end.state, JobState::kCancelled);
  EXPECT_EQ(end.reason, "cancelled: testing");
  size_t delivered = dispatcher_->delivered().size();
  EXPECT_EQ(end.done, delivered) << "what was delivered is counted, the rest released";
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(dispatcher_->delivered().size(), delivered) << "nothing after the cancel";
  EXPECT_EQ(engine_->Cancel(job->id, "again").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(EngineTest, APokeMakesACancelMadeElsewhereStopTheJobAtOnce) {
  Seed(1000, 10);
  // Ticks an hour apart: without the poke, the cancel would go unseen.
  engine_ = std::make_unique<ReflowEngine>(
      journal_.get(), dispatcher_.get(),
      EngineOptions{.instance = "test", .batch_size = 16, .tick = std::chrono::hours(1)});
  auto job = engine_->Start({.filter = "outcome = failed", .rate = 20});
  ASSERT_TRUE(job.ok());
  std::this_thread::sleep_for(300ms);
  // Another instance cancels through the journal; its notification (the
  // journal's change feed) pokes this engine.
  ASSERT_TRUE(journal_->jobs().SetJobState(job->id, JobState::kCancelling, "cancelled: elsewhere").ok());
  auto t0 = Clock::now();
  engine_->Poke();
  JobRecord end = WaitForEnd(job->id, 5s);
  EXPECT_LT(Clock::now() - t0, 1s);
  EXPECT_EQ(end.state, JobState::kCancelled);
  EXPECT_EQ(end.reason, "cancelled: elsewhere");
  EXPECT_LT(end.done, 1000u);
}

TEST_F(EngineTest, RateLimitedJobKeepsItsRate) {
  Seed(60, 6);
  auto t0 = Clock::now();
  auto job = engine_->Start({.filter = "outcome = failed", .rate = 40, .concurrency = 3});
  ASSERT_TRUE(job.ok());
  JobRecord end = WaitForEnd(job->id);
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  double rate = end.done / seconds;
  EXPECT_EQ(end.done, 60u);
  // 60 messages at 40/s take 1.5 s. Never faster than the rate (+10%); the
  // lower bound is loose because a loaded machine under TSan is slow, yet it
  // still catches a limiter that halves the rate.
  EXPECT_LE(rate, 44.0) << seconds << " s";
  EXPECT_GE(rate, 28.0) << seconds << " s";
}

// A job's rate holds for the whole fleet: each live instance of the service
// takes rate / live instances, recomputed as instances come and go.
TEST_F(EngineTest, TheRateIsSharedByTheLiveInstancesOfTheService) {
  InstanceStore& registry = journal_->instances();
  for (const char* id : {"test", "other-1", "other-2", "elsewhere"}) {
    ASSERT_TRUE(registry.Register({.id = id, .service = std::string(id) == "elsewhere" ? "billing" : "ledger",
                                   .started_at_us = NowUs()}).ok());
  }
  engine_ = std::make_unique<ReflowEngine>(
      journal_.get(), dispatcher_.get(),
      EngineOptions{.instance = "test", .service = "ledger", .batch_size = 16, .tick = 20ms});
  Seed(400, 8);
  auto job = engine_->Start({.filter = "outcome = failed", .rate = 30});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  auto share = [&] {
    auto p = engine_->Progress(job->id);
    return p.ok() ? p->rate_share : -1;
  };
  auto wait_for_share = [&](double want) {
    for (int i = 0; i < 250 && share() != want; ++i) std::this_thread::sleep_for(20ms);
    return share();
  };
  // Three live instances of "ledger" (the billing one does not count).
  EXPECT_DOUBLE_EQ(wait_for_share(10), 10);
  ASSERT_TRUE(registry.MarkGone("other-2", "stopped").ok());
  EXPECT_DOUBLE_EQ(wait_for_share(15), 15);
  ASSERT_TRUE(registry.MarkGone("other-1", "stopped").ok());
  EXPECT_DOUBLE_EQ(wait_for_share(30), 30) << "alone, the instance takes the whole rate";
  ASSERT_TRUE(engine_->Cancel(job->id, "enough").ok());
  WaitForEnd(job->id, 5s);
}

// Alone, the engine claims whole batches however many keys they span (one
// claim, commit and settle per batch, not per few keys); in a fleet it
// takes its share of the free keys and leaves the others to the fleet.
TEST_F(EngineTest, AloneItClaimsWholeBatchesAndInAFleetItsShareOfTheKeys) {
  Seed(64, 64);
  auto alone = engine_->Start({.filter = "outcome = failed"});
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_EQ(WaitForEnd(alone->id).done, 64u);
  EXPECT_EQ(dispatcher_->keys_per_batch(), (std::vector<size_t>{16, 16, 16, 16}));

  InstanceStore& registry = journal_->instances();
  for (const char* id : {"test", "other"}) {
    ASSERT_TRUE(registry.Register({.id = id, .service = "ledger", .started_at_us = NowUs()}).ok());
  }
  auto fleet_dispatcher = std::make_unique<RecordingDispatcher>(journal_.get());
  engine_ = std::make_unique<ReflowEngine>(journal_.get(), fleet_dispatcher.get(),
                                           EngineOptions{.instance = "test", .service = "ledger", .batch_size = 16});
  Seed(32, 4, Outcome::kSkipped);  // 4 keys, 8 messages each
  auto shared = engine_->Start({.filter = "outcome = skipped"});
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(WaitForEnd(shared->id).done, 32u);
  engine_.reset();  // before its dispatcher goes
  // Two live instances: each claim takes half of the keys with items left
  // (rounded up): two of four, one of two, one of one.
  EXPECT_EQ(fleet_dispatcher->keys_per_batch(), (std::vector<size_t>{2, 1, 1}));
}

TEST_F(EngineTest, BadRequestsAreClearErrors) {
  EXPECT_EQ(engine_->Start({.filter = ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Start({.filter = "chanel = x"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Start({.filter = "outcome = failed", .rate = -1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Progress("999").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(engine_->Cancel("nope", "").status().code(), StatusCode::kNotFound);
}

TEST_F(EngineTest, RederiveJobRunsTheDeriverOncePerSelectedKey) {
  Seed(40, 8);                                                  // account:0..7, inbound
  Seed(6, 3, Outcome::kOk, Direction::kOut);                    // account:0..2, outbound
  dispatcher_->change_keys_ = {"account:2", "account:5"};
  dispatcher_->fail_keys_ = {"account:7"};
  auto job = engine_->Start({.kind = std::string(kRederiveJob),
                             .filter = "channel = \"payments.received\"",
                             .concurrency = 3,
                             .deriver = "balance"});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 8u) << "one item per key, not per message";
  JobRecord end = WaitForEnd(job->id);
  EXPECT_EQ(end.state, JobState::kCompleted);
  EXPECT_EQ(end.done, 8u);
  EXPECT_EQ(end.failed, 1u);
  EXPECT_EQ(end.changed, 2u);
  EXPECT_EQ(end.spec.kind, kRederiveJob);
  EXPECT_EQ(end.spec.deriver, "balance");
  EXPECT_FALSE(end.spec.dry_run);
  auto stored = journal_->jobs().GetJob(job->id);
  ASSERT_TRUE(stored.ok());
  std::set<std::string> changed(stored->changed_keys.begin(), stored->changed_keys.end());
  EXPECT_EQ(changed, (std::set<std::string>{"account:2", "account:5"}));
  std::vector<std::string> calls = dispatcher_->rederived();
  std::sort(calls.begin(), calls.end());
  std::vector<std::string> expected;
  for (int k = 0; k < 8; ++k) expected.push_back("balance:account:" + std::to_string(k));
  EXPECT_EQ(calls, expected);
  EXPECT_TRUE(dispatcher_->delivered().empty()) << "a re-derive replays nothing";
}

TEST_F(EngineTest, RederiveJobTakesExplicitKeysAndKeepsDryRun) {
  Seed(30, 6);
  dispatcher_->change_keys_ = {"account:1"};
  auto job = engine_->Start({.kind = std::string(kRederiveJob),
                             .deriver = "balance",
                             .dry_run = true,
                             .keys = {"account:1", "account:4", "no-such-key"}});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 2u) << "keys without messages have nothing to re-derive";
  JobRecord end = WaitForEnd(job->id);
  EXPECT_TRUE(end.spec.dry_run);
  EXPECT_EQ(end.changed, 1u);
  auto stored = journal_->jobs().GetJob(job->id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->changed_keys, std::vector<std::string>{"account:1"});
}

TEST_F(EngineTest, RederiveJobNeedsADeriverAndASelection) {
  Seed(3, 1);
  EXPECT_EQ(engine_->Start({.kind = std::string(kRederiveJob), .filter = "outcome = failed"})
                .status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Start({.kind = std::string(kRederiveJob), .deriver = "balance"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Start({.kind = "rebuild", .filter = "outcome = failed"}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, RecoveryCountsFinishedCopiesAndMarksOnlyDispatchedItemsAsRedeliveries) {
  std::vector<Message> seeded = Seed(6, 6);
  // A "crashed" run: the job claimed all six items; copies of the first two
  // were recorded with a final outcome, the third only as pending.
  auto job = journal_->jobs().CreateJob({.filter = "outcome = failed"}, "dead-instance");
  ASSERT_TRUE(job.ok());
  // "dead-instance" never registered, so nothing vouches for its claims.
  auto claimed = journal_->jobs().ClaimItems(job->id, {.instance = "dead-instance", .max = 100});
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 6u);
  WriteBatch copies;
  for (int i = 0; i < 3; ++i) {
    Message c = seeded[i];
    c.id = ids_.Next(NowUs() / 1000);
    c.origin_id = seeded[i].id;
    c.job_id = job->id;
    c.outcome = i < 2 ? Outcome::kOk : Outcome::kPending;
    copies.messages.push_back(c);
  }
  ASSERT_TRUE(journal_->Write(copies, false).ok());

  auto resumed = engine_->ResumeUnfinished();
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(*resumed, 1u);
  JobRecord end = WaitForEnd(job->id);
  EXPECT_EQ(end.state, JobState::kCompleted);
  EXPECT_EQ(end.done, 6u);
  // The third was dispatched (its copy is pending): marked. The last three
  // have no copy, so were never dispatched: replayed unmarked.
  EXPECT_EQ(end.redelivered, 1u);
  EXPECT_EQ(dispatcher_->redelivered(), std::vector<std::string>{seeded[2].id});
  std::vector<std::string> delivered = dispatcher_->delivered();
  std::vector<std::string> expected = {seeded[2].id, seeded[3].id, seeded[4].id, seeded[5].id};
  std::sort(delivered.begin(), delivered.end());
  EXPECT_EQ(delivered, expected) << "finished copies are not delivered again";
}

TEST_F(EngineTest, ShutdownLeavesTheJobResumable) {
  Seed(200, 4);
  dispatcher_->delay_ = 2ms;
  auto job = engine_->Start({.filter = "outcome = failed"});
  ASSERT_TRUE(job.ok());
  std::this_thread::sleep_for(100ms);
  engine_.reset();  // the process stops cleanly mid-job
  size_t before = dispatcher_->delivered().size();
  EXPECT_LT(before, 200u);
  auto record = journal_->jobs().GetJob(job->id);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state, JobState::kRunning);

  engine_ = std::make_unique<ReflowEngine>(journal_.get(), dispatcher_.get(), EngineOptions{});
  ASSERT_TRUE(engine_->ResumeUnfinished().ok());
  JobRecord end = WaitForEnd(job->id);
  EXPECT_EQ(end.done, 200u);
  std::vector<std::string> delivered = dispatcher_->delivered();
  std::set<std::string> unique(delivered.begin(), delivered.end());
  EXPECT_EQ(unique.size(), 200u);
  EXPECT_EQ(delivered.size(), 200u) << "a clean stop repeats nothing";
}

}  // namespace
}  // namespace reprise
