#include <gtest/gtest.h>

#include <thread>

#include "reprise/store/instance.h"
#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

class SqliteInstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("fleet.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
  }
  InstanceStore& instances() { return journal_->instances(); }
  static InstanceRecord Make(const std::string& id, const std::string& service) {
    return {.id = id, .service = service, .host = "h", .pid = 42, .address = "127.0.0.1:1",
            .agent_version = "0.1.0", .api_version = "reprise.v1"};
  }

  testing::TempDir dir_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(SqliteInstancesTest, RegisterListsLiveInstancesByService) {
  ASSERT_TRUE(instances().Register(Make("h:1", "ledger")).ok());
  ASSERT_TRUE(instances().Register(Make("h:2", "ledger")).ok());
  ASSERT_TRUE(instances().Register(Make("h:3", "billing")).ok());
  auto ledger = instances().ListInstances("ledger", false);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  ASSERT_EQ(ledger->size(), 2u);
  EXPECT_EQ((*ledger)[0].id, "h:1");
  EXPECT_EQ((*ledger)[0].address, "127.0.0.1:1");
  EXPECT_EQ((*ledger)[0].state, InstanceState::kLive);
  EXPECT_GT((*ledger)[0].heartbeat_at_us, 0);
  auto all = instances().ListInstances("", false);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST_F(SqliteInstancesTest, SilentInstancesAreMarkedGoneAndComeBackOnHeartbeat) {
  ASSERT_TRUE(instances().Register(Make("h:1", "ledger")).ok());
  ASSERT_TRUE(instances().Register(Make("h:2", "ledger")).ok());
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(instances().Heartbeat("h:2").ok());
  auto expired = instances().ExpireStale(30ms);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1u);
  auto live = instances().ListInstances("ledger", false);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "h:2");
  auto all = instances().ListInstances("ledger", true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].state, InstanceState::kGone);
  EXPECT_NE((*all)[1].gone_reason.find("no heartbeat"), std::string::npos);

  // A paused instance that heartbeats again is live again.
  ASSERT_TRUE(instances().Heartbeat("h:1").ok());
  live = instances().ListInstances("ledger", false);
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->size(), 2u);
}

TEST_F(SqliteInstancesTest, MarkGoneAndUnknownHeartbeat) {
  ASSERT_TRUE(instances().Register(Make("h:1", "ledger")).ok());
  ASSERT_TRUE(instances().MarkGone("h:1", "stopped").ok());
  auto live = instances().ListInstances("ledger", false);
  ASSERT_TRUE(live.ok());
  EXPECT_TRUE(live->empty());
  EXPECT_EQ(instances().Heartbeat("nobody:1").code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace reprise
