// Flow resolution (pure) and the registry's snapshot over a real journal.
#include "flows.h"

#include <gtest/gtest.h>

#include <thread>

#include "reprise/store/change_feed.h"
#include "reprise/store/journal.h"
#include "support/postgres_server.h"
#include "support/test_env.h"

namespace reprise {
namespace {

FlowSnapshot Snapshot(std::string default_variant, FlowRollout rollout = {},
                      std::map<std::string, std::string, std::less<>> assignments = {}) {
  FlowSnapshot s;
  s.record.name = "ledger.rounding";
  s.record.variants = {"v1", "v2"};
  s.record.default_variant = std::move(default_variant);
  s.record.rollout = std::move(rollout);
  s.assignments = std::move(assignments);
  return s;
}

TEST(FlowHashTest, IsFnv1a64OverNameNulKey) {
  // FNV-1a 64 of the empty input is the offset basis; of "\0" it is one step.
  EXPECT_EQ(FlowHash("", ""), (14695981039346656037ull ^ 0) * 1099511628211ull);
  // Pinned values: changing the hash would move keys between variants in a
  // running fleet, so it must never change.
  EXPECT_EQ(FlowHash("ledger.rounding", "account:42"), 8745360547433766543ull);
  EXPECT_EQ(FlowBucket("ledger.rounding", "account:42"), 6543u);
  // The NUL separates name and key.
  EXPECT_NE(FlowHash("ledger.rounding", "account:42"), FlowHash("ledger.roundin", "gaccount:42"));
  EXPECT_EQ(FlowBucket("a", "b"), FlowHash("a", "b") % 10000);
}

TEST(ResolveFlowTest, DefaultWithoutRolloutOrAssignment) {
  auto s = Snapshot("v1");
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ResolveFlow(s, "account:" + std::to_string(i)), "v1");
}

TEST(ResolveFlowTest, AssignmentOverridesRolloutAndDefault) {
  auto s = Snapshot("v1", {"v2", 100}, {{"account:7", "v1"}, {"account:8", "v2"}});
  EXPECT_EQ(ResolveFlow(s, "account:7"), "v1");  // rollout is 100% v2
  EXPECT_EQ(ResolveFlow(s, "account:8"), "v2");
  EXPECT_EQ(ResolveFlow(s, "account:9"), "v2");
  s = Snapshot("v2", {}, {{"account:7", "v1"}});
  EXPECT_EQ(ResolveFlow(s, "account:7"), "v1");
  EXPECT_EQ(ResolveFlow(s, "account:6"), "v2");
}

TEST(ResolveFlowTest, ZeroAndHundredPercent) {
  auto none = Snapshot("v1", {"v2", 0});
  auto all = Snapshot("v1", {"v2", 100});
  for (int i = 0; i < 10000; ++i) {
    std::string key = "account:" + std::to_string(i);
    ASSERT_EQ(ResolveFlow(none, key), "v1");
    ASSERT_EQ(ResolveFlow(all, key), "v2");
  }
}

TEST(ResolveFlowTest, RolloutIsStableAndRoughlyProportional) {
  for (double percent : {1.0, 10.0, 25.0, 50.0, 90.0}) {
    auto s = Snapshot("v1", {"v2", percent});
    int in = 0;
    for (int i = 0; i < 10000; ++i) {
      std::string key = "account:" + std::to_string(i);
      std::string v = ResolveFlow(s, key);
      ASSERT_EQ(v, ResolveFlow(s, key));  // same key, same variant
      in += v == "v2";
    }
    EXPECT_NEAR(in, percent * 100, 10000 * 0.015 + 20) << percent << "%";
  }
}

TEST(ResolveFlowTest, RaisingThePercentOnlyAddsKeys) {
  // A key in the 10% rollout stays in when it grows to 30%: a rollout only
  // ever moves keys one way.
  auto small = Snapshot("v1", {"v2", 10});
  auto large = Snapshot("v1", {"v2", 30});
  for (int i = 0; i < 5000; ++i) {
    std::string key = "k" + std::to_string(i);
    if (ResolveFlow(small, key) == "v2") {
      ASSERT_EQ(ResolveFlow(large, key), "v2") << key;
    }
  }
}

TEST(ResolveFlowTest, FlowsRollOutIndependently) {
  auto a = Snapshot("v1", {"v2", 50});
  auto b = Snapshot("v1", {"v2", 50});
  b.record.name = "other.flow";
  int same = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string key = "account:" + std::to_string(i);
    same += ResolveFlow(a, key) == ResolveFlow(b, key);
  }
  EXPECT_NEAR(same, 5000, 300);
}

class FlowRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("flows.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
  }
  testing::TempDir dir_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(FlowRegistryTest, SetAppliesAtOnceAndOtherWritersWithinAPoll) {
  FlowRegistry reg(&journal_->flows(), std::chrono::milliseconds(50));
  ASSERT_TRUE(reg.Declare("ledger.rounding", {"v1", "v2"}, "v1").ok());
  EXPECT_EQ(reg.Resolve("ledger.rounding", "account:1"), "v1");
  EXPECT_EQ(reg.Resolve("undeclared", "account:1"), "");

  ASSERT_TRUE(reg.Set({.flow = "ledger.rounding", .assign = {{"account:1", "v2"}}}).ok());
  EXPECT_EQ(reg.Resolve("ledger.rounding", "account:1"), "v2");  // no wait

  // Another writer of the same journal (another process, in production).
  ASSERT_TRUE(journal_->flows().Apply({.flow = "ledger.rounding", .default_variant = "v2"}).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (reg.Resolve("ledger.rounding", "account:2") != "v2" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(reg.Resolve("ledger.rounding", "account:2"), "v2");
  EXPECT_EQ(reg.Names(), std::vector<std::string>{"ledger.rounding"});
}

TEST_F(FlowRegistryTest, SetRejectsWhatTheStoreRejects) {
  FlowRegistry reg(&journal_->flows(), std::chrono::milliseconds(0));
  ASSERT_TRUE(reg.Declare("ledger.rounding", {"v1", "v2"}, "v1").ok());
  EXPECT_EQ(reg.Set({.flow = "ledger.rounding", .default_variant = "v9"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.Set({.flow = "nope", .default_variant = "v1"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg.Resolve("ledger.rounding", "k"), "v1");
}

// On PostgreSQL, a registry poked by the journal's change feed sees another
// process's change at once even when its poll is an hour away; and when the
// feed's notifications are lost (here: a feed on another journal, which
// never reports this one's changes), the poll still brings the change.
class PgFlowRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto url = (*server)->NewJournalUrl();
    ASSERT_TRUE(url.ok());
    for (auto* j : {&journal_, &other_process_}) {
      auto opened = Journal::Open(*url);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      *j = std::move(*opened);
    }
    auto elsewhere = (*server)->NewJournalUrl();
    ASSERT_TRUE(elsewhere.ok());
    auto opened = Journal::Open(*elsewhere);
    ASSERT_TRUE(opened.ok());
    elsewhere_ = std::move(*opened);
  }
  // How long until `reg` resolves account:2 to v2 after another process
  // changed the default (bounded at 5 s).
  std::chrono::milliseconds TimeToSeeAChange(FlowRegistry& reg) {
    EXPECT_TRUE(other_process_->flows().Apply({.flow = "ledger.rounding", .default_variant = "v2"}).ok());
    auto changed = std::chrono::steady_clock::now();
    while (reg.Resolve("ledger.rounding", "account:2") != "v2" &&
           std::chrono::steady_clock::now() - changed < std::chrono::seconds(5)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(reg.Resolve("ledger.rounding", "account:2"), "v2");
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - changed);
  }
  std::unique_ptr<Journal> journal_, other_process_, elsewhere_;
};

TEST_F(PgFlowRegistryTest, TheChangeFeedBringsAChangeLongBeforeThePoll) {
  FlowRegistry reg(&journal_->flows(), std::chrono::hours(1));
  ASSERT_TRUE(reg.Declare("ledger.rounding", {"v1", "v2"}, "v1").ok());
  auto feed = journal_->NewChangeFeed();
  ASSERT_NE(feed, nullptr);
  feed->Start([&reg](ChangeTopic t) {
    if (t == ChangeTopic::kFlows) reg.Poke();
  });
  for (int i = 0; i < 500 && !feed->connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(feed->connected());
  EXPECT_LT(TimeToSeeAChange(reg), std::chrono::seconds(1));
}

TEST_F(PgFlowRegistryTest, WhenNotificationsAreLostThePollStillBringsTheChange) {
  FlowRegistry reg(&journal_->flows(), std::chrono::milliseconds(300));
  ASSERT_TRUE(reg.Declare("ledger.rounding", {"v1", "v2"}, "v1").ok());
  auto deaf = elsewhere_->NewChangeFeed();  // hears only the other journal
  deaf->Start([&reg](ChangeTopic t) {
    if (t == ChangeTopic::kFlows) reg.Poke();
  });
  for (int i = 0; i < 500 && !deaf->connected(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(deaf->connected());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its first report has passed
  EXPECT_LT(TimeToSeeAChange(reg), std::chrono::seconds(2)) << "within a few polls";
}

}  // namespace
}  // namespace reprise
