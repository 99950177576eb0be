// The PostgreSQL change feed (store/postgres/change_feed.cc) against a real
// server: flow changes and job state changes committed through one journal
// are heard at once by a feed on another connection; another journal's
// changes in the same database are not; a feed whose connection is cut
// reconnects and reports every topic once (what it missed is unknown).
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "reprise/store/change_feed.h"
#include "reprise/store/flow.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "support/postgres_server.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Counts what a feed reports, and waits for it (bounded).
class Heard {
 public:
  ChangeFeed::Callback callback() {
    return [this](ChangeTopic t) {
      std::lock_guard<std::mutex> lock(mu_);
      ++count_[t];
      cv_.notify_all();
    };
  }
  int count(ChangeTopic t) {
    std::lock_guard<std::mutex> lock(mu_);
    return count_[t];
  }
  // True once `t` was heard more than `than` times, within `limit`.
  bool WaitFor(ChangeTopic t, int than, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return count_[t] > than; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<ChangeTopic, int> count_;
};

bool WaitConnected(const ChangeFeed& feed, bool want) {
  for (int i = 0; i < 500 && feed.connected() != want; ++i) std::this_thread::sleep_for(20ms);
  return feed.connected() == want;
}

class PgChangeFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *server;
    auto url = server_->NewJournalUrl();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
    auto listening = Journal::Open(url_);
    ASSERT_TRUE(listening.ok()) << listening.status().ToString();
    listening_ = std::move(*listening);
    auto writer = Journal::Open(url_);  // another "process": its own pool
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
    ASSERT_TRUE(writer_->flows().Declare("pay.route", {"v1", "v2"}, "v1").ok());
  }
  Status ChangeFlow(Journal& j, const std::string& variant) {
    FlowChange ch{.flow = "pay.route", .default_variant = variant, .who = "test", .reason = "feed test"};
    return j.flows().Apply(ch).status();
  }

  testing::PostgresServer* server_ = nullptr;
  std::string url_;
  std::unique_ptr<Journal> listening_, writer_;
};

TEST_F(PgChangeFeedTest, FlowAndJobChangesOfOtherConnectionsArriveAtOnce) {
  std::unique_ptr<ChangeFeed> feed = listening_->NewChangeFeed();
  ASSERT_NE(feed, nullptr);
  Heard heard;
  feed->Start(heard.callback());
  ASSERT_TRUE(WaitConnected(*feed, true));
  // On connecting, every topic is reported once: the caller checks it all.
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kFlows, 0, 5s));
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kJobs, 0, 5s));
  const int flows = heard.count(ChangeTopic::kFlows), jobs = heard.count(ChangeTopic::kJobs);

  auto at = Clock::now();
  ASSERT_TRUE(ChangeFlow(*writer_, "v2").ok());
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kFlows, flows, 5s));
  EXPECT_LT(Clock::now() - at, 1s) << "a generous bound: NOTIFY arrives in milliseconds";
  EXPECT_EQ(heard.count(ChangeTopic::kJobs), jobs);

  auto job = writer_->jobs().CreateJob(JobSpec{.filter = "channel = nothing"}, "writer");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  at = Clock::now();
  ASSERT_TRUE(writer_->jobs().SetJobState(job->id, JobState::kCancelling, "feed test").ok());
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kJobs, jobs, 5s));
  EXPECT_LT(Clock::now() - at, 1s);
}

TEST_F(PgChangeFeedTest, ChangesToAnotherJournalInTheSameDatabaseAreNotReported) {
  auto other_url = server_->NewJournalUrl();  // another schema, same database
  ASSERT_TRUE(other_url.ok());
  auto other = Journal::Open(*other_url);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->flows().Declare("pay.route", {"v1", "v2"}, "v1").ok());

  std::unique_ptr<ChangeFeed> feed = listening_->NewChangeFeed();
  Heard heard;
  feed->Start(heard.callback());
  ASSERT_TRUE(WaitConnected(*feed, true));
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kFlows, 0, 5s));
  const int flows = heard.count(ChangeTopic::kFlows);
  ASSERT_TRUE(ChangeFlow(**other, "v2").ok());
  // Then a change to this journal: once it is heard, the other one would
  // have been too (NOTIFYs of one database arrive in commit order).
  ASSERT_TRUE(ChangeFlow(*writer_, "v2").ok());
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kFlows, flows, 5s));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(heard.count(ChangeTopic::kFlows), flows + 1);
}

TEST_F(PgChangeFeedTest, AFeedWhoseConnectionIsCutReconnectsAndReportsEverything) {
  std::unique_ptr<ChangeFeed> feed = listening_->NewChangeFeed();
  Heard heard;
  feed->Start(heard.callback());
  ASSERT_TRUE(WaitConnected(*feed, true));
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kJobs, 0, 5s));
  const int flows = heard.count(ChangeTopic::kFlows), jobs = heard.count(ChangeTopic::kJobs);

  auto killed = server_->Query(
      "postgres", "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                  "WHERE application_name = 'reprise-listen'");
  ASSERT_TRUE(killed.ok()) << killed.status().ToString();
  ASSERT_EQ(*killed, "1");
  // Reconnected: both topics reported again, whatever was missed meanwhile.
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kJobs, jobs, 10s));
  ASSERT_TRUE(heard.WaitFor(ChangeTopic::kFlows, flows, 10s));
  ASSERT_TRUE(WaitConnected(*feed, true));
  const int after = heard.count(ChangeTopic::kFlows);
  ASSERT_TRUE(ChangeFlow(*writer_, "v2").ok());
  EXPECT_TRUE(heard.WaitFor(ChangeTopic::kFlows, after, 5s)) << "listening again after the cut";
}

TEST(ChangeFeedTest, SqliteHasNoFeedItsProcessesPoll) {
  auto j = Journal::Open("sqlite::memory:");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->NewChangeFeed(), nullptr);
}

}  // namespace
}  // namespace reprise
