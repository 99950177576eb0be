// Lease-based claims of job items, as a fleet of instances uses them.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <set>
#include <thread>

#include "reprise/base/ulid.h"
#include "reprise/store/instance.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SqliteJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_ = Open();
    for (const char* id : {"x", "y"}) {
      ASSERT_TRUE(journal_->instances().Register({.id = id, .service = "ledger", .host = "h"}).ok());
    }
  }
  std::unique_ptr<Journal> Open() {
    auto j = Journal::Open("sqlite:" + dir_.File("jobs.journal"));
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(*j) : nullptr;
  }
  JobStore& jobs() { return journal_->jobs(); }

  // Inbound failed messages; message i has key keys[i].
  std::vector<Message> Seed(const std::vector<std::string>& keys) {
    std::vector<Message> out;
    WriteBatch b;
    for (size_t i = 0; i < keys.size(); ++i) {
      Message m;
      int64_t now = NowMicros();
      m.id = ids_.Next(now / 1000);
      m.recorded_at_us = now;
      m.direction = Direction::kIn;
      m.channel = "payments.received";
      m.key = keys[i];
      m.payload = "{\"n\":" + std::to_string(i) + "}";
      m.outcome = Outcome::kFailed;
      b.messages.push_back(m);
      out.push_back(m);
    }
    EXPECT_TRUE(journal_->Write(b, false).ok());
    return out;
  }

  std::string NewJob() {
    auto job = jobs().CreateJob({.filter = "outcome = failed", .service = "ledger"}, "x");
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    return job.ok() ? job->id : "";
  }

  static std::vector<int64_t> Seqs(const std::vector<JobItem>& items) {
    std::vector<int64_t> out;
    for (const JobItem& i : items) out.push_back(i.seq);
    return out;
  }
  static std::vector<ItemResult> Ok(const std::vector<JobItem>& items) {
    std::vector<ItemResult> out;
    for (const JobItem& i : items) {
      out.push_back({.seq = i.seq, .copy_id = "", .outcome = Outcome::kOk, .redelivery = i.redelivery});
    }
    return out;
  }

  // The rows `sql` returns, read from the file itself: columns joined by
  // ',', rows by ';'.
  std::string Rows(const std::string& sql) {
    sqlite3* db = nullptr;
    std::string out;
    if (sqlite3_open(dir_.File("jobs.journal").c_str(), &db) != SQLITE_OK) return "open failed";
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
      while (sqlite3_step(s) == SQLITE_ROW) {
        if (!out.empty()) out += ";";
        for (int c = 0; c < sqlite3_column_count(s); ++c) {
          if (c > 0) out += ",";
          const unsigned char* text = sqlite3_column_text(s, c);
          out += text ? reinterpret_cast<const char*>(text) : "NULL";
        }
      }
    } else {
      out = sqlite3_errmsg(db);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }
  // Records a copy of `original` made by `job`, finished ok: what a claimer
  // leaves behind when it dies after delivering the item.
  // A copy of `original` made by `job`, as its dispatch records it: pending
  // until the handler or sender has run, then with the outcome.
  Message RecordCopy(const Message& original, const std::string& job, Outcome outcome) {
    Message copy = original;
    copy.id = ids_.Next(NowMicros() / 1000);
    copy.origin_id = original.id;
    copy.job_id = job;
    copy.outcome = outcome;
    EXPECT_TRUE(journal_->Write({.messages = {copy}}, false).ok());
    return copy;
  }
  std::string ItemStates(const std::string& job) {
    return Rows("SELECT seq, state, coalesce(claimed_by, '-') FROM job_items WHERE job_id = " + job +
                " ORDER BY seq");
  }

  testing::TempDir dir_;
  std::unique_ptr<Journal> journal_;
  UlidGenerator ids_;
};

// A lone instance with nothing of the job in flight claims the first pending
// items as one range on the job's row (schema v11): the items are written
// once, when done, and then say who delivered them.
TEST_F(SqliteJobsTest, ALoneInstanceClaimsARangeAndWritesEachItemOnceWhenDone) {
  Seed({"a", "b", "a", "c"});  // seqs 1..4
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 3});
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  ASSERT_EQ(Seqs(*x), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(Rows("SELECT solo_by, solo_first, solo_last FROM jobs WHERE id = " + job), "x,1,3");
  EXPECT_EQ(ItemStates(job), "1,0,-;2,0,-;3,0,-;4,0,-") << "no item is marked at the claim";
  // Held all the same: a second claim, x's or y's, takes only what is free.
  auto again = jobs().ClaimItems(job, {.instance = "x", .max = 10});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Seqs(*again), (std::vector<int64_t>{4}));
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  EXPECT_TRUE(y->empty());

  ASSERT_TRUE(jobs().CompleteItems(job, "y", Ok(*x)).ok());
  EXPECT_EQ(jobs().GetJob(job)->done, 0u) << "y's completion of x's items counts nothing";
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*x)).ok());
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*again)).ok());
  EXPECT_EQ(ItemStates(job), "1,2,x;2,2,x;3,2,x;4,2,x");
  EXPECT_EQ(Rows("SELECT coalesce(solo_by, '-') FROM jobs WHERE id = " + job), "-")
      << "a range with nothing pending is dropped";
  auto end = jobs().GetJob(job);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->done, 4u);
  EXPECT_EQ(end->redelivered, 0u);
}

// A range holds its items' keys as marked items do: later items of those
// keys wait. Releasing part of it turns the rest into marked items (a range
// has no holes), so only the released ones go to others.
TEST_F(SqliteJobsTest, ASoloClaimHoldsItsKeysAndIsReleasedInPart) {
  Seed({"a", "b", "c", "a"});  // seqs 1..4
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 2});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(Seqs(*x), (std::vector<int64_t>{1, 2}));
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(Seqs(*y), (std::vector<int64_t>{3})) << "a's later item waits for x's";
  ASSERT_TRUE(jobs().ReleaseItems(job, "x", {2}).ok());
  EXPECT_EQ(ItemStates(job), "1,1,x;2,0,-;3,1,y;4,0,-");
  auto y2 = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y2.ok());
  EXPECT_EQ(Seqs(*y2), (std::vector<int64_t>{2}));
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok({(*x)[0]})).ok());
  auto y3 = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y3.ok());
  EXPECT_EQ(Seqs(*y3), (std::vector<int64_t>{4}));
  EXPECT_EQ(jobs().GetJob(job)->done, 1u);
}

// A fleet member's claim, or any claim while items are in flight, marks
// each item as before: a solo claim is only for the first pending items.
TEST_F(SqliteJobsTest, ClaimsBesideItemsInFlightMarkEachItem) {
  Seed({"a", "b", "c", "d"});
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 1, .share = 2});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(Seqs(*x), (std::vector<int64_t>{1}));
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 2});
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(Seqs(*y), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(ItemStates(job), "1,1,x;2,1,y;3,1,y;4,0,-");
  EXPECT_EQ(Rows("SELECT coalesce(solo_by, '-') FROM jobs WHERE id = " + job), "-");
}

// Released items of a solo claim are pending as they were, not redeliveries;
// those of a claimer that died are settled as its marked items are: done
// when their copy was recorded with an outcome (and then they name the
// claimer), otherwise claimed again, marked when a pending copy says it was
// dispatched.
TEST_F(SqliteJobsTest, ASoloClaimIsReleasedCleanlyAndSettledWhenItsClaimerDies) {
  std::vector<Message> seeded = Seed({"a", "b", "c"});
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 3});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x->size(), 3u);
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok({(*x)[0]})).ok());
  ASSERT_TRUE(jobs().ReleaseItems(job, "x", {2, 3}).ok());
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(Seqs(*y), (std::vector<int64_t>{2, 3}));
  EXPECT_FALSE((*y)[0].redelivery || (*y)[1].redelivery) << "released, not abandoned";

  // y recorded a finished copy of item 2, renewed its lease, dispatched
  // item 3 (its copy still pending), then died.
  auto renewed = jobs().RenewLease(job, "y", 60s);
  ASSERT_TRUE(renewed.ok());
  EXPECT_GT(std::stoll(Rows("SELECT solo_lease_until FROM jobs WHERE id = " + job)), NowMicros() + 50'000'000);
  const Message copy = RecordCopy(seeded[1], job, Outcome::kOk);
  RecordCopy(seeded[2], job, Outcome::kPending);
  ASSERT_TRUE(journal_->instances().MarkGone("y", "no heartbeat").ok());
  auto x2 = jobs().ClaimItems(job, {.instance = "x", .max = 10});
  ASSERT_TRUE(x2.ok());
  ASSERT_EQ(Seqs(*x2), (std::vector<int64_t>{3}));
  EXPECT_TRUE((*x2)[0].redelivery);
  EXPECT_EQ(Rows("SELECT state, claimed_by, copy_id FROM job_items WHERE job_id = " + job + " AND seq = 2"),
            "2,y," + copy.id);
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*x2)).ok());
  auto end = jobs().GetJob(job);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->done, 3u);
  EXPECT_EQ(end->redelivered, 1u);
}

TEST_F(SqliteJobsTest, ClaimsKeepPerKeyOrderAcrossInstances) {
  Seed({"a", "b", "a", "b", "c"});  // seqs 1..5
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 1});
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(Seqs(*x), (std::vector<int64_t>{1}));
  // y may take b and c, but not a's later item while x holds a's earlier one.
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(Seqs(*y), (std::vector<int64_t>{2, 4, 5}));
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*x)).ok());
  auto next = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Seqs(*next), (std::vector<int64_t>{3}));
  ASSERT_TRUE(jobs().CompleteItems(job, "y", Ok(*y)).ok());
  ASSERT_TRUE(jobs().CompleteItems(job, "y", Ok(*next)).ok());
  auto end = jobs().GetJob(job);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->done, 5u);
  EXPECT_EQ(end->total, 5u);
}

// A lone instance reads its next batch while it delivers the current one
// (JobStore::PeekItems): its own items in flight count as done, nothing is
// written, and once they are done the claim takes what was read.
TEST_F(SqliteJobsTest, APeekedBatchIsClaimedAsReadOnceTheCurrentOneIsDone) {
  std::vector<Message> seeded = Seed({"a", "b", "a", "c", "b"});  // seqs 1..5
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 2});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(Seqs(*x), (std::vector<int64_t>{1, 2}));
  auto peeked = jobs().PeekItems(job, {.instance = "x", .max = 10});
  ASSERT_TRUE(peeked.ok()) << peeked.status().ToString();
  ASSERT_EQ(Seqs(*peeked), (std::vector<int64_t>{3, 4, 5}));
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*peeked)[i].message.payload, seeded[i + 2].payload);
  // Another instance's peek does not count x's items as done, and a fleet
  // member (share 2) does not peek.
  auto other = jobs().PeekItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Seqs(*other), (std::vector<int64_t>{4}));
  auto shared = jobs().PeekItems(job, {.instance = "x", .max = 10, .share = 2});
  ASSERT_TRUE(shared.ok());
  EXPECT_TRUE(shared->empty());

  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*x)).ok());
  auto next = jobs().ClaimPeekedItems(job, {.instance = "x", .max = 10}, *peeked);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(Seqs(*next), (std::vector<int64_t>{3, 4, 5}));
  auto held = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty()) << "the peeked items are claimed, in flight";
}

// What changed since the peek limits the claim to the part of it that is
// still claimable, in order; when none is, it claims afresh.
TEST_F(SqliteJobsTest, APeekedBatchIsClaimedOnlyAsFarAsItIsStillClaimable) {
  std::vector<Message> seeded = Seed({"a", "b", "a", "c", "b", "d"});  // seqs 1..6
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 2});
  ASSERT_TRUE(x.ok());
  auto peeked = jobs().PeekItems(job, {.instance = "x", .max = 3});
  ASSERT_TRUE(peeked.ok());
  ASSERT_EQ(Seqs(*peeked), (std::vector<int64_t>{3, 4, 5}));
  // y takes c's item meanwhile: x keeps the peek's part before it.
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 1});
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(Seqs(*y), (std::vector<int64_t>{4}));
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*x)).ok());
  auto next = jobs().ClaimPeekedItems(job, {.instance = "x", .max = 3}, *peeked);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Seqs(*next), (std::vector<int64_t>{3}));

  // A peek whose first item went elsewhere: the claim reads afresh.
  auto again = jobs().PeekItems(job, {.instance = "x", .max = 2});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(Seqs(*again), (std::vector<int64_t>{5, 6}));
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*next)).ok());
  auto taken = jobs().ClaimItems(job, {.instance = "y", .max = 1});
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(Seqs(*taken), (std::vector<int64_t>{5}));
  auto rest = jobs().ClaimPeekedItems(job, {.instance = "x", .max = 2}, *again);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(Seqs(*rest), (std::vector<int64_t>{6}));
  EXPECT_EQ((*rest)[0].message.payload, seeded[5].payload);
}

// The peek counts the instance's own items in flight as done; if one of
// them is not (its lease ran out, so it is pending again, a redelivery),
// the claim does not take the peeked later items of its key before it.
TEST_F(SqliteJobsTest, APeekDoesNotOvertakeAnOwnItemWhoseLeaseRanOut) {
  Seed({"a", "b", "a"});  // seqs 1..3
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 1, .lease = 1ms});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(Seqs(*x), (std::vector<int64_t>{1}));
  auto peeked = jobs().PeekItems(job, {.instance = "x", .max = 10});
  ASSERT_TRUE(peeked.ok());
  ASSERT_EQ(Seqs(*peeked), (std::vector<int64_t>{2, 3}));
  std::this_thread::sleep_for(20ms);
  auto next = jobs().ClaimPeekedItems(job, {.instance = "x", .max = 10}, *peeked);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_EQ(Seqs(*next), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE((*next)[0].redelivery) << "no copy of it was recorded: it was never dispatched";
  EXPECT_FALSE((*next)[1].redelivery);
}

TEST_F(SqliteJobsTest, AClaimTakesItsShareOfTheKeysAndLeavesTheRestToOthers) {
  Seed({"a", "b", "c", "a", "b", "c"});
  const std::string job = NewJob();
  // Two instances: of three free keys, x takes two (rounded up).
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 10, .share = 2});
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(Seqs(*x), (std::vector<int64_t>{1, 2, 4, 5}));
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10, .share = 2});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(Seqs(*y), (std::vector<int64_t>{3, 6}));
}

TEST_F(SqliteJobsTest, AnExpiredLeaseIsClaimedAgainMarkedWhereDispatchedAndTheLateOwnerIsIgnored) {
  Seed({"a", "b"});
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 10, .lease = 1000ms});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x->size(), 2u);
  auto early = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty()) << "a live lease is not taken";
  // x dispatched the first item (its copy pending), not the second.
  RecordCopy((*x)[0].message, job, Outcome::kPending);
  std::this_thread::sleep_for(1100ms);
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(y->size(), 2u);
  EXPECT_TRUE((*y)[0].redelivery) << "dispatched: it may have been delivered";
  EXPECT_FALSE((*y)[1].redelivery) << "never dispatched";
  // x wakes up late: its results no longer count.
  ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*x)).ok());
  ASSERT_TRUE(jobs().CompleteItems(job, "y", Ok(*y)).ok());
  auto end = jobs().GetJob(job);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->done, 2u);
  EXPECT_EQ(end->redelivered, 1u);
}

TEST_F(SqliteJobsTest, RenewedLeasesHoldAndAGoneClaimerLosesThemAtOnce) {
  std::vector<Message> seeded = Seed({"a", "b"});
  const std::string job = NewJob();
  auto x = jobs().ClaimItems(job, {.instance = "x", .max = 10, .lease = 400ms});
  ASSERT_TRUE(x.ok());
  ASSERT_EQ(x->size(), 2u);
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(200ms);
    auto renewed = jobs().RenewLease(job, "x", 400ms);
    ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
    EXPECT_EQ(renewed->state, JobState::kRunning);
  }
  auto held = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(held.ok());
  EXPECT_TRUE(held->empty()) << "renewed leases are still x's";

  // x recorded a finished copy of the first item, then died.
  RecordCopy(seeded[0], job, Outcome::kOk);
  ASSERT_TRUE(journal_->instances().MarkGone("x", "no heartbeat").ok());
  auto y = jobs().ClaimItems(job, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(Seqs(*y), (std::vector<int64_t>{2})) << "the finished copy counts, it is not repeated";
  EXPECT_FALSE((*y)[0].redelivery) << "x never dispatched it (no copy)";
  auto mid = jobs().GetJob(job);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->done, 1u);
}

TEST_F(SqliteJobsTest, FinalStatesAreSticky) {
  Seed({"a"});
  const std::string job = NewJob();
  ASSERT_TRUE(jobs().SetJobState(job, JobState::kCancelled, "cancelled by alice").ok());
  ASSERT_TRUE(jobs().SetJobState(job, JobState::kCompleted, "").ok());
  auto end = jobs().GetJob(job);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->state, JobState::kCancelled);
  EXPECT_EQ(end->reason, "cancelled by alice");
  EXPECT_EQ(end->spec.service, "ledger");
  EXPECT_EQ(jobs().SetJobState("999", JobState::kCancelled, "").code(), StatusCode::kNotFound);
}

// Two connections to one file (as two processes have) claim and complete
// concurrently: every item is done exactly once and the counters add up.
TEST_F(SqliteJobsTest, ConcurrentInstancesCompleteEachItemOnce) {
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("k" + std::to_string(i % 13));
  Seed(keys);
  const std::string job = NewJob();
  std::mutex mu;
  std::multiset<int64_t> delivered;
  auto run = [&](const std::string& instance) {
    auto journal = Open();
    ASSERT_NE(journal, nullptr);
    for (int round = 0; round < 1000; ++round) {
      auto items = journal->jobs().ClaimItems(job, {.instance = instance, .max = 7});
      if (!items.ok()) continue;  // busy: try again
      if (items->empty()) {
        auto j = journal->jobs().GetJob(job);
        if (j.ok() && j->done == j->total) return;
        std::this_thread::sleep_for(1ms);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        for (const JobItem& i : *items) delivered.insert(i.seq);
      }
      while (!journal->jobs().CompleteItems(job, instance, Ok(*items)).ok()) {
      }
    }
  };
  std::thread tx(run, "x"), ty(run, "y");
  tx.join();
  ty.join();
  EXPECT_EQ(delivered.size(), 300u);
  EXPECT_EQ(std::set<int64_t>(delivered.begin(), delivered.end()).size(), 300u);
  auto end = jobs().GetJob(job);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->done, 300u);
  EXPECT_EQ(end->redelivered, 0u);
}

// Items find their message by its seq (schema v9) and its id: SQLite gives a
// seq again after the newest message is deleted, and a claim must then
// report the item's message gone rather than replay the newcomer.
TEST_F(SqliteJobsTest, AnItemWhoseMessageIsGoneIsReportedNotReplacedByAnother) {
  auto seeded = Seed({"a", "b"});
  const std::string job = NewJob();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("jobs.journal").c_str(), &db), SQLITE_OK);
    const std::string del = "DELETE FROM messages WHERE id = '" + seeded[1].id + "'";
    ASSERT_EQ(sqlite3_exec(db, del.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto newcomer = Seed({"c"});  // takes the deleted message's seq
  for (size_t share : {size_t{1}, size_t{2}}) {
    auto claimed = jobs().ClaimItems(job, {.instance = "x", .max = 10, .share = share});
    if (claimed.ok()) {
      // The first item may come back alone; never the newcomer in the second's place.
      for (const JobItem& i : *claimed) EXPECT_NE(i.message.id, newcomer[0].id);
      ASSERT_TRUE(jobs().CompleteItems(job, "x", Ok(*claimed)).ok());
      continue;
    }
    EXPECT_EQ(claimed.status().code(), StatusCode::kFailedPrecondition) << claimed.status().ToString();
    EXPECT_NE(claimed.status().message().find("no longer in the journal"), std::string::npos);
  }
}

}  // namespace
}  // namespace reprise
