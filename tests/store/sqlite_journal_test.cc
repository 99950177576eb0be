#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>

#include "reprise/store/journal.h"
#include "reprise/store/ulid.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using testing::TempDir;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SqliteJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("test.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
  }

  Message Make(std::string channel, std::string key, Outcome outcome = Outcome::kOk,
               std::string payload = "{}") {
    Message m;
    int64_t now = NowUs();
    m.id = ids_.Next(now / 1000);
    m.recorded_at_us = now;
    m.channel = std::move(channel);
    m.key = std::move(key);
    m.outcome = outcome;
    m.payload = std::move(payload);
    m.content_type = "application/json";
    if (outcome == Outcome::kFailed) m.error = "downstream timeout";
    return m;
  }

  void Write(std::vector<Message> ms) {
    WriteBatch b;
    b.messages = std::move(ms);
    Status st = journal_->Write(b, false);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  TempDir dir_;
  UlidGenerator ids_;
  std::unique_ptr<Journal> journal_;
};

TEST_F(SqliteJournalTest, WritesAndReadsBackEveryField) {
  Message m = Make("payments.received", "account:42", Outcome::kFailed,
                   std::string("{\"amount\":\"12.5\"}\0tail", 23));
  m.direction = Direction::kIn;
  m.correlation_id = "corr-1";
  m.causation_id = "cause-1";
  m.headers = {{"tenant", "acme"}, {"trace", "abc"}};
  m.attempt = 3;
  m.origin_id = "origin-1";
  m.job_id = "17";
  m.flow_variant = "v2";
  Write({m});

  auto got = journal_->Get(m.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Message& r = got->message;
  EXPECT_EQ(r.id, m.id);
  EXPECT_EQ(r.direction, Direction::kIn);
  EXPECT_EQ(r.channel, m.channel);
  EXPECT_EQ(r.key, m.key);
  EXPECT_EQ(r.correlation_id, "corr-1");
  EXPECT_EQ(r.causation_id, "cause-1");
  EXPECT_EQ(r.headers, m.headers);
  EXPECT_EQ(r.payload, m.payload);  // binary-safe, embedded NUL included
  EXPECT_EQ(r.payload_size, m.payload.size());
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.recorded_at_us, m.recorded_at_us);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.error, "downstream timeout");
  EXPECT_EQ(r.attempt, 3u);
  EXPECT_EQ(r.origin_id, "origin-1");
  EXPECT_EQ(r.job_id, "17");
  EXPECT_EQ(r.flow_variant, "v2");
}

TEST_F(SqliteJournalTest, UnknownIdIsNotFoundAndNamesTheId) {
  auto got = journal_->Get("01JD0000000000000000000000");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("01JD0000000000000000000000"), std::string::npos);
}

TEST_F(SqliteJournalTest, KeysetPagingVisitsEveryMatchOnceNewestFirst) {
  std::vector<Message> all;
  for (int i = 0; i < 25; ++i) {
    all.push_back(Make(i % 2 ? "a" : "b", "k" + std::to_string(i % 3),
                       i % 5 == 0 ? Outcome::kFailed : Outcome::kOk));
  }
  Write(all);
  std::vector<std::string> seen;
  ListQuery q{.filter = "channel = a", .page_size = 4};
  for (int pages = 0; pages < 20; ++pages) {
    auto page = journal_->List(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& m : page->messages) {
      EXPECT_EQ(m.channel, "a");
      EXPECT_TRUE(m.payload.empty()) << "lists leave payloads out unless asked";
      EXPECT_EQ(m.payload_size, 2u);
      seen.push_back(m.id);
    }
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  std::vector<std::string> expected;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->channel == "a") expected.push_back(it->id);
  }
  EXPECT_EQ(seen, expected);
}

TEST_F(SqliteJournalTest, OldestFirstAndPayloadOnRequest) {
  Write({Make("a", "k", Outcome::kOk, "first"), Make("a", "k", Outcome::kOk, "second")});
  auto page = journal_->List({.page_size = 10, .with_payload = true, .oldest_first = true});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_EQ(page->messages[0].payload, "first");
  EXPECT_EQ(page->messages[1].payload, "second");
}

TEST_F(SqliteJournalTest, BadFilterAndBadPageTokenAreInvalidArgument) {
  auto bad = journal_->List({.filter = "chanel = x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto token = journal_->List({.page_token = "not-a-token"});
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteJournalTest, LineageLinksCausesEffectsAndCopies) {
  Message root = Make("payments.received", "account:1");
  Message effect = Make("balance.updated", "account:1");
  effect.causation_id = root.id;
  effect.direction = Direction::kOut;
  Message grandchild = Make("audit.written", "account:1");
  grandchild.causation_id = effect.id;
  Message copy = Make("balance.updated", "account:1");
  copy.origin_id = effect.id;
  copy.job_id = "3";
  Write({root, effect, grandchild, copy});

  auto l = journal_->Get(effect.id);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->causes.size(), 1u);
  EXPECT_EQ(l->causes[0].id, root.id);
  ASSERT_EQ(l->effects.size(), 1u);
  EXPECT_EQ(l->effects[0].id, grandchild.id);
  ASSERT_EQ(l->copies.size(), 1u);
  EXPECT_EQ(l->copies[0].id, copy.id);

  auto leaf = journal_->Get(grandchild.id);
  ASSERT_TRUE(leaf.ok());
  ASSERT_EQ(leaf->causes.size(), 2u);  // parent first, then its parent
  EXPECT_EQ(leaf->causes[0].id, effect.id);
  EXPECT_EQ(leaf->causes[1].id, root.id);
}

TEST_F(SqliteJournalTest, OutcomeUpdatesChangeOnlyTheOutcome) {
  Message m = Make("a", "k", Outcome::kPending, "payload");
  Write({m});
  WriteBatch b;
  b.outcomes.push_back({.id = m.id, .outcome = Outcome::kFailed, .error = "boom"});
  ASSERT_TRUE(journal_->Write(b, false).ok());
  auto got = journal_->Get(m.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->message.outcome, Outcome::kFailed);
  EXPECT_EQ(got->message.error, "boom");
  EXPECT_EQ(got->message.payload, "payload");
}

TEST_F(SqliteJournalTest, CountsGroupedByField) {
  Write({Make("a", "k1", Outcome::kFailed), Make("a", "k2"), Make("b", "k1", Outcome::kFailed),
         Make("a", "k1")});
  auto total = journal_->Count("", "");
  ASSERT_TRUE(total.ok());
  ASSERT_EQ(total->size(), 1u);
  EXPECT_EQ(total->front().count, 4u);

  auto by = journal_->Count("outcome = failed", "channel");
  ASSERT_TRUE(by.ok()) << by.status().ToString();
  ASSERT_EQ(by->size(), 2u);
  EXPECT_EQ((*by)[0].count + (*by)[1].count, 2u);

  auto by_outcome = journal_->Count("channel = a", "outcome");
  ASSERT_TRUE(by_outcome.ok());
  ASSERT_EQ(by_outcome->size(), 2u);
  EXPECT_EQ((*by_outcome)[0].group, "ok");  // largest group first, readable names
  EXPECT_EQ((*by_outcome)[0].count, 2u);

  auto bad = journal_->Count("", "chanel");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteJournalTest, ChannelsWithCounts) {
  Message out = Make("balance.updated", "k", Outcome::kFailed);
  out.direction = Direction::kOut;
  Write({Make("payments.received", "k"), Make("payments.received", "k"), out});
  auto ch = journal_->Channels();
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->size(), 2u);
  EXPECT_EQ((*ch)[0].channel, "balance.updated");
  EXPECT_EQ((*ch)[0].direction, Direction::kOut);
  EXPECT_EQ((*ch)[0].failed, 1u);
  EXPECT_EQ((*ch)[1].messages, 2u);
}

TEST_F(SqliteJournalTest, ReopenKeepsDataAndSchemaVersion) {
  Message m = Make("a", "k");
  Write({m});
  journal_.reset();
  auto j = Journal::Open("sqlite:" + dir_.File("test.journal"));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->SchemaVersion(), 4);
  EXPECT_TRUE((*j)->Get(m.id).ok());
}

TEST_F(SqliteJournalTest, RefusesAJournalFromANewerVersion) {
  journal_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("test.journal").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto j = Journal::Open("sqlite:" + dir_.File("test.journal"));
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(j.status().message().find("newer"), std::string::npos);
}

TEST_F(SqliteJournalTest, AFileThatIsNotAJournalIsReportedNotCrashed) {
  std::ofstream(dir_.File("garbage.journal")) << std::string(8192, 'x');
  auto j = Journal::Open("sqlite:" + dir_.File("garbage.journal"));
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kDataLoss) << j.status().ToString();
}

TEST(JournalOpenTest, UnknownUrlSaysWhatIsExpected) {
  auto j = Journal::Open("mysql://x");
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(j.status().message().find("sqlite:PATH"), std::string::npos);
}

TEST(JournalOpenTest, InMemoryJournalWorks) {
  auto j = Journal::Open("sqlite::memory:");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  Message m;
  UlidGenerator ids;
  m.id = ids.Next(1);
  m.channel = "c";
  m.key = "k";
  WriteBatch b;
  b.messages.push_back(m);
  ASSERT_TRUE((*j)->Write(b, false).ok());
  EXPECT_TRUE((*j)->Get(m.id).ok());
}

}  // namespace
}  // namespace reprise
