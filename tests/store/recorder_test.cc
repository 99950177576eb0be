#include "reprise/store/recorder.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "reprise/base/ulid.h"
#include "support/faulty_journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::FaultyJournal;
using Durability = RecorderOptions::Durability;
using OverloadPolicy = RecorderOptions::OverloadPolicy;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("r.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::make_unique<FaultyJournal>(std::move(*j));
  }

  Message Make(std::string payload = "x") {
    Message m;
    m.id = ids_.Next(1700000000000);
    m.channel = "c";
    m.key = "k";
    m.payload = std::move(payload);
    return m;
  }

  uint64_t CountAll() {
    auto c = journal_->real().Count("", "");
    return c.ok() && !c->empty() ? c->front().count : 0;
  }

  testing::TempDir dir_;
  UlidGenerator ids_;
  std::unique_ptr<FaultyJournal> journal_;
};

TEST_F(RecorderTest, AsyncRecordsAreCommittedByFlush) {
  Recorder r(journal_.get(), {});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(r.Record(Make()).ok());
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), 1000u);
  auto s = r.Stats();
  EXPECT_EQ(s.recorded, 1000u);
  EXPECT_EQ(s.committed, 1000u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_LT(s.batches, 1000u) << "records should be grouped into fewer commits";
}

TEST_F(RecorderTest, ProcessDurabilityReturnsOnlyOnceCommitted) {
  Recorder r(journal_.get(), {.durability = Durability::kProcess});
  Message m = Make();
  ASSERT_TRUE(r.Record(m).ok());
  // No Flush: the call itself promised the commit.
  EXPECT_TRUE(journal_->real().Get(m.id).ok());
}

TEST_F(RecorderTest, ConcurrentSynchronousCallersShareGroupCommits) {
  Recorder r(journal_.get(), {.durability = Durability::kProcess});
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(r.Record(Make()).ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(CountAll(), 800u);
  // The writer gathers the callers its last commit released: commits carry
  // several records each (16 on an idle machine; far fewer only if callers
  // take longer than the gathering wait to come back).
  EXPECT_LE(r.Stats().batches, 400u);
}

TEST_F(RecorderTest, OutcomeInTheSameBatchIsFoldedIntoTheInsert) {
  journal_->HoldWrites();
  Recorder r(journal_.get(), {});
  Message m = Make();
  ASSERT_TRUE(r.Record(m).ok());
  ASSERT_TRUE(r.RecordOutcome({.id = m.id, .outcome = Outcome::kFailed, .error = "boom"}).ok());
  journal_->Release();
  ASSERT_TRUE(r.Flush().ok());
  auto got = journal_->real().Get(m.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->message.outcome, Outcome::kFailed);
  EXPECT_EQ(got->message.error, "boom");
}

TEST_F(RecorderTest, OutcomeForAnEarlierBatchUpdatesTheRow) {
  Recorder r(journal_.get(), {});
  Message m = Make();
  ASSERT_TRUE(r.Record(m).ok());
  ASSERT_TRUE(r.Flush().ok());
  ASSERT_TRUE(r.RecordOutcome({.id = m.id, .outcome = Outcome::kOk}).ok());
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(journal_->real().Get(m.id)->message.outcome, Outcome::kOk);
}

TEST_F(RecorderTest, DropPolicyCountsDropsAndKeepsMemoryBounded) {
  journal_->HoldWrites();  // the journal falls behind completely
  Recorder r(journal_.get(), {.overload = OverloadPolicy::kDrop, .max_queue_bytes = 64 * 1024});
  int accepted = 0, dropped = 0;
  for (int i = 0; i < 1000; ++i) {
    Status st = r.Record(Make(std::string(1024, 'p')));
    if (st.ok()) ++accepted;
    else {
      EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
      ++dropped;
    }
  }
  auto s = r.Stats();
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(s.dropped, static_cast<uint64_t>(dropped));
  EXPECT_LE(s.queued_bytes, 64u * 1024);
  journal_->Release();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), static_cast<uint64_t>(accepted)) << "nothing accepted may be lost";
}

TEST_F(RecorderTest, BlockPolicyWaitsForRoomInsteadOfDropping) {
  journal_->HoldWrites();
  Recorder r(journal_.get(), {.overload = OverloadPolicy::kBlock, .max_queue_bytes = 16 * 1024});
  std::atomic<int> done{0};
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(r.Record(Make(std::string(1024, 'p'))).ok());
      ++done;
    }
  });
  std::this_thread::sleep_for(200ms);
  EXPECT_LT(done.load(), 100) << "the producer should be blocked by the bound";
  EXPECT_LE(r.Stats().queued_bytes, 16u * 1024);
  journal_->Release();
  producer.join();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), 100u);
  EXPECT_EQ(r.Stats().dropped, 0u);
}

TEST_F(RecorderTest, TransientWriteFailureIsRetriedAndReported) {
  journal_->FailWrites(Unavailable("sqlite journal: disk I/O error"));
  Recorder r(journal_.get(), {});
  Message m = Make();
  ASSERT_TRUE(r.Record(m).ok());
  for (int i = 0; i < 100 && journal_->failed_writes() < 2; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GE(journal_->failed_writes(), 2) << "the writer should keep retrying";
  RecorderStats during = r.Stats();
  EXPECT_NE(during.last_error.find("disk I/O error"), std::string::npos);
  EXPECT_FALSE(during.healthy());
  EXPECT_GE(during.failed_writes, 2u);
  EXPECT_EQ(during.queued, 1u) << "the record waits for the fault to clear";
  const auto began = during.failing_since;
  EXPECT_NE(began.time_since_epoch().count(), 0);
  EXPECT_GE(during.last_fault_at, began) << "a fault's start stays put while it lasts";
  EXPECT_EQ(during.recovered_at.time_since_epoch().count(), 0);
  journal_->ClearFault();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_TRUE(journal_->real().Get(m.id).ok()) << "the record survives the fault";
  RecorderStats after = r.Stats();
  EXPECT_EQ(after.last_error, "");
  EXPECT_TRUE(after.healthy());
  EXPECT_EQ(after.failing_since.time_since_epoch().count(), 0);
  EXPECT_NE(after.last_fault.find("disk I/O error"), std::string::npos) << "kept after recovery";
  EXPECT_GE(after.recovered_at, after.last_fault_at);
  EXPECT_EQ(after.committed, 1u);
}

TEST_F(RecorderTest, TheCommittedMarkPassesARecordOnlyOnceItIsInTheJournal) {
  journal_->FailWrites(Unavailable("sqlite journal: disk I/O error"));
  Recorder r(journal_.get(), {});
  EXPECT_EQ(r.Mark(), 0u);
  Message first = Make();
  ASSERT_TRUE(r.Record(first).ok());
  const uint64_t after_first = r.Mark();
  ASSERT_TRUE(r.Record(Make()).ok());
  const uint64_t after_second = r.Mark();
  EXPECT_EQ(after_first, 1u);
  EXPECT_EQ(after_second, 2u);
  EXPECT_FALSE(r.WaitCommitted(after_first, 50ms)) << "the journal refuses writes: nothing is committed";
  EXPECT_EQ(r.CommittedMark(), 0u);
  EXPECT_FALSE(journal_->real().Get(first.id).ok());
  journal_->ClearFault();
  ASSERT_TRUE(r.WaitCommitted(after_second, 10s));
  EXPECT_GE(r.CommittedMark(), after_second);
  EXPECT_TRUE(journal_->real().Get(first.id).ok()) << "a passed mark means the record is readable";
  EXPECT_TRUE(r.WaitCommitted(after_first, 0ms)) << "an already passed mark needs no wait";
}

TEST_F(RecorderTest, SynchronousCallerLearnsThatItsCommitFailed) {
  journal_->FailWrites(Unavailable("sqlite journal: database or disk is full"));
  Recorder r(journal_.get(), {.durability = Durability::kProcess});
  Status st = r.Record(Make());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("disk is full"), std::string::npos);
  journal_->ClearFault();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), 1u) << "the record was kept and written once the fault cleared";
}

TEST_F(RecorderTest, PermanentRejectionOfOneRecordKeepsTheOthers) {
  Recorder r(journal_.get(), {});
  Message dup = Make();
  ASSERT_TRUE(r.Record(dup).ok());
  ASSERT_TRUE(r.Flush().ok());
  journal_->HoldWrites();
  Message a = Make(), b = Make();
  ASSERT_TRUE(r.Record(a).ok());
  ASSERT_TRUE(r.Record(dup).ok());  // same id again: the journal refuses it
  ASSERT_TRUE(r.Record(b).ok());
  journal_->Release();
  (void)r.Flush();
  EXPECT_TRUE(journal_->real().Get(a.id).ok());
  EXPECT_TRUE(journal_->real().Get(b.id).ok());
  EXPECT_EQ(r.Stats().rejected, 1u);
  EXPECT_TRUE(r.Stats().healthy()) << "the journal took the other records";
  EXPECT_NE(r.Stats().last_fault.find("refused 1 record"), std::string::npos) << r.Stats().last_fault;
  EXPECT_NE(r.Stats().last_fault.find(dup.id), std::string::npos) << "names the refused record: "
                                                                 << r.Stats().last_fault;
}

// A synchronous caller must never hear OK for a record the journal refused,
// however late it looks compared with the writer.
TEST_F(RecorderTest, ASynchronousCallerWhoseRecordIsRefusedIsTold) {
  Recorder r(journal_.get(), {.durability = Durability::kProcess});
  Message dup = Make();
  ASSERT_TRUE(r.Record(dup).ok());
  for (int i = 0; i < 20; ++i) {
    Status st = r.Record(dup);  // same id again: the journal refuses it
    EXPECT_FALSE(st.ok()) << "attempt " << i;
    EXPECT_NE(st.message().find("refused 1 record"), std::string::npos) << st.ToString();
    EXPECT_TRUE(r.Record(Make()).ok()) << "the next record is committed and says so";
  }
  EXPECT_EQ(r.Stats().rejected, 20u);
  EXPECT_EQ(CountAll(), 21u);
  // A refusal is final: Flush, which a reflow retries until it succeeds,
  // does not report it again (stats do).
  EXPECT_FALSE(r.Record(dup).ok());
  EXPECT_TRUE(r.Flush().ok());
}

TEST_F(RecorderTest, DestructorDrainsTheQueue) {
  {
    Recorder r(journal_.get(), {});
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(r.Record(Make()).ok());
  }
  EXPECT_EQ(CountAll(), 500u);
}

TEST_F(RecorderTest, EveryFieldSurvivesTheQueue) {
  Recorder r(journal_.get(), {});
  Message m = Make(std::string("{\"amount\": 12}") + std::string(300, ' '));
  m.direction = Direction::kOut;
  m.channel = "payments.received.with.a.long.channel.name";
  m.key = "account:42";
  m.correlation_id = ids_.Next(1700000000000);
  m.causation_id = ids_.Next(1700000000000);
  m.headers = {{"trace", "abc"}, {"", "empty key"}, {"long-header-name-" + std::string(40, 'h'), ""}};
  m.content_type = "application/json";
  m.recorded_at_us = 1700000000123456;
  m.outcome = Outcome::kFailed;
  m.error = "boom";
  m.attempt = 3;
  m.origin_id = ids_.Next(1700000000000);
  m.job_id = "job-7";
  m.flow_variant = "v2";
  ASSERT_TRUE(r.Record(m).ok());
  ASSERT_TRUE(r.Flush().ok());
  auto got = journal_->real().Get(m.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Message& g = got->message;
  EXPECT_EQ(g.direction, m.direction);
  EXPECT_EQ(g.channel, m.channel);
  EXPECT_EQ(g.key, m.key);
  EXPECT_EQ(g.correlation_id, m.correlation_id);
  EXPECT_EQ(g.causation_id, m.causation_id);
  EXPECT_EQ(g.headers, m.headers);
  EXPECT_EQ(g.payload, m.payload);
  EXPECT_EQ(g.content_type, m.content_type);
  EXPECT_EQ(g.recorded_at_us, m.recorded_at_us);
  EXPECT_EQ(g.outcome, m.outcome);
  EXPECT_EQ(g.error, m.error);
  EXPECT_EQ(g.attempt, m.attempt);
  EXPECT_EQ(g.origin_id, m.origin_id);
  EXPECT_EQ(g.job_id, m.job_id);
  EXPECT_EQ(g.flow_variant, m.flow_variant);
}

// Records are copied outside the recorder's lock while the writer reads the
// tail slab in place: with small slabs (4 KiB) and four threads, every record
// must arrive whole, whatever slab it straddled into.
TEST_F(RecorderTest, ThreadsRecordingAtOnceWhileTheWriterReadsLoseNothing) {
  Recorder r(journal_.get(), {.max_queue_bytes = 128 * 1024});
  constexpr int kThreads = 4, kEach = 500;
  std::vector<std::vector<Message>> sent(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) {
      // Sizes from a few bytes to most of a slab.
      Message m = Make(std::string(1 + (i * 37 + t * 11) % 3000, static_cast<char>('a' + (i + t) % 26)));
      m.key = "t" + std::to_string(t);
      if (i % 7 == 0) m.headers = {{"i", std::to_string(i)}};
      sent[t].push_back(std::move(m));
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ASSERT_TRUE(r.Record(sent[t][i]).ok());
        if (i % 50 == 0) std::this_thread::sleep_for(200us);  // let the writer catch up mid-slab
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), static_cast<uint64_t>(kThreads * kEach));
  for (const auto& mine : sent) {
    for (const Message& m : mine) {
      auto got = journal_->real().Get(m.id);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      ASSERT_EQ(got->message.payload, m.payload);
      ASSERT_EQ(got->message.key, m.key);
      ASSERT_EQ(got->message.headers, m.headers);
    }
  }
}

// The writer reuses the messages of its last batch: a record must not
// inherit anything the previous one held in the same slot.
TEST_F(RecorderTest, ARecordInheritsNothingFromTheOneBefore) {
  Recorder r(journal_.get(), {});
  Message full = Make("first");
  full.headers = {{"trace", "abc"}};
  full.error = "boom";
  full.outcome = Outcome::kFailed;
  full.correlation_id = ids_.Next(1700000000000);
  full.origin_id = ids_.Next(1700000000000);
  full.job_id = "7";
  full.flow_variant = "v2";
  ASSERT_TRUE(r.Record(full).ok());
  ASSERT_TRUE(r.Flush().ok());
  Message bare = Make("second");
  ASSERT_TRUE(r.Record(bare).ok());
  ASSERT_TRUE(r.Flush().ok());
  auto got = journal_->real().Get(bare.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->message.headers.empty());
  EXPECT_EQ(got->message.error, "");
  EXPECT_EQ(got->message.outcome, Outcome::kPending);
  EXPECT_EQ(got->message.correlation_id, "");
  EXPECT_EQ(got->message.origin_id, "");
  EXPECT_EQ(got->message.job_id, "");
  EXPECT_EQ(got->message.flow_variant, "");
  EXPECT_EQ(got->message.payload, "second");
}

// In async durability nobody waits for the writer: it must find records by
// itself, whether it is polling (records came lately) or asleep after a
// quiet spell (the first record wakes it).
TEST_F(RecorderTest, AsyncRecordsReachTheJournalWithoutFlush) {
  Recorder r(journal_.get(), {});
  auto committed_within = [&](uint64_t n, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (CountAll() < n && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
    return CountAll() >= n;
  };
  std::this_thread::sleep_for(300ms);  // the writer has gone to sleep
  ASSERT_TRUE(r.Record(Make()).ok());
  EXPECT_TRUE(committed_within(1, 2000ms)) << "a sleeping writer must be woken";
  ASSERT_TRUE(r.Record(Make()).ok());  // the writer is polling now
  EXPECT_TRUE(committed_within(2, 2000ms)) << "a polling writer must find the record";
}

TEST_F(RecorderTest, HeldMemoryStaysWithinTheBoundWhileTheWriterIsStuck) {
  journal_->HoldWrites();  // the writer holds a batch that it cannot write
  const size_t bound = 256 * 1024;
  Recorder r(journal_.get(), {.overload = OverloadPolicy::kDrop, .max_queue_bytes = bound});
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    if (r.Record(Make(std::string(700, 'p'))).ok()) ++accepted;
    EXPECT_LE(r.Stats().held_bytes, bound);
  }
  auto s = r.Stats();
  EXPECT_GT(s.dropped, 0u);
  EXPECT_GT(s.held_bytes, bound / 2) << "the slabs' share of the bound should be used";
  journal_->Release();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), static_cast<uint64_t>(accepted));
  EXPECT_LE(r.Stats().held_bytes, bound) << "only spare slabs are kept";
}

TEST_F(RecorderTest, ARecordLargerThanTheBoundIsAdmittedIntoAnEmptyQueue) {
  Recorder r(journal_.get(), {.overload = OverloadPolicy::kDrop, .max_queue_bytes = 16 * 1024});
  Message big = Make(std::string(100 * 1024, 'b'));
  ASSERT_TRUE(r.Record(big).ok());
  ASSERT_TRUE(r.Flush().ok());
  auto got = journal_->real().Get(big.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->message.payload.size(), 100u * 1024);
  // The writer frees the slab just after the commit that Flush waits for.
  for (int i = 0; i < 200 && r.Stats().held_bytes > 16u * 1024; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_LE(r.Stats().held_bytes, 16u * 1024) << "the oversized slab is freed once decoded";
}

// The writer reads the tail slab in place and keeps it while it is the tail:
// it must not count as in use, or a record larger than the bound would never
// be admitted once anything else had been recorded.
TEST_F(RecorderTest, ARecordLargerThanTheBoundIsAdmittedAfterOthers) {
  Recorder r(journal_.get(), {.overload = OverloadPolicy::kDrop, .max_queue_bytes = 16 * 1024});
  ASSERT_TRUE(r.Record(Make("small")).ok());
  ASSERT_TRUE(r.Flush().ok());
  Message big = Make(std::string(100 * 1024, 'b'));
  ASSERT_TRUE(r.Record(big).ok()) << "the queue is empty: the big record must get a slab of its own";
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_TRUE(journal_->real().Get(big.id).ok());
}

// The writer reuses its last batch's messages; one that held a large payload
// must not be kept, or its string's capacity would count against every later
// batch's budget and group commits would shrink to a record each.
TEST_F(RecorderTest, ALargePayloadDoesNotShrinkLaterGroupCommits) {
  Recorder r(journal_.get(), {.max_queue_bytes = 1 << 20});  // a batch budget of 256 KiB
  ASSERT_TRUE(r.Record(Make(std::string(300 * 1024, 'L'))).ok());
  ASSERT_TRUE(r.Flush().ok());
  const uint64_t before = r.Stats().batches;
  journal_->HoldWrites();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(r.Record(Make()).ok());
  journal_->Release();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_LT(r.Stats().batches - before, 20u) << "1000 small records, a few group commits";
}

TEST_F(RecorderTest, ASubmittedBatchIsDroppedAsAWhole) {
  journal_->HoldWrites();
  Recorder r(journal_.get(), {.overload = OverloadPolicy::kDrop, .max_queue_bytes = 64 * 1024});
  uint64_t accepted = 0;
  int dropped_batches = 0;
  for (int i = 0; i < 100; ++i) {
    WriteBatch b;
    for (int k = 0; k < 3; ++k) b.messages.push_back(Make(std::string(1024, 'q')));
    b.outcomes.push_back({.id = b.messages[0].id, .outcome = Outcome::kOk});
    Status st = r.Submit(std::move(b));
    if (st.ok()) accepted += 3;
    else ++dropped_batches;
  }
  ASSERT_GT(dropped_batches, 0);
  EXPECT_EQ(r.Stats().dropped, 3u * dropped_batches);
  journal_->Release();
  ASSERT_TRUE(r.Flush().ok());
  EXPECT_EQ(CountAll(), accepted) << "no batch may be half written";
}

}  // namespace
}  // namespace reprise
