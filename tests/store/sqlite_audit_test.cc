#include <gtest/gtest.h>
#include <sqlite3.h>

#include "reprise/store/audit.h"
#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

class SqliteAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + dir_.File("audit.journal"));
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
  }
  std::string Append(std::string action, std::string who, StatusCode code = StatusCode::kOk) {
    auto id = journal_->audit().Append({.at_us = ++now_,
                                        .who = std::move(who),
                                        .action = std::move(action),
                                        .request = "{\"filter\":\"outcome = failed\"}",
                                        .code = code,
                                        .result = code == StatusCode::kOk ? "OK" : "INVALID_ARGUMENT: x",
                                        .instance = "host:1"});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  testing::TempDir dir_;
  std::unique_ptr<Journal> journal_;
  int64_t now_ = 1700000000000000;
};

TEST_F(SqliteAuditTest, AppendsAndListsNewestFirstWithFilters) {
  Append("StartReflow", "alice");
  Append("CancelJob", "bob");
  Append("StartReflow", "bob", StatusCode::kInvalidArgument);
  auto all = journal_->audit().List({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->records.size(), 3u);
  EXPECT_EQ(all->records[0].action, "StartReflow");
  EXPECT_EQ(all->records[0].who, "bob");
  EXPECT_EQ(all->records[0].code, StatusCode::kInvalidArgument);
  EXPECT_EQ(all->records[2].who, "alice");
  EXPECT_EQ(all->records[2].request, "{\"filter\":\"outcome = failed\"}");
  EXPECT_EQ(all->records[2].instance, "host:1");

  EXPECT_EQ(journal_->audit().List({.action = "StartReflow"})->records.size(), 2u);
  EXPECT_EQ(journal_->audit().List({.who = "bob"})->records.size(), 2u);
  EXPECT_EQ(journal_->audit().List({.failed_only = true})->records.size(), 1u);
  EXPECT_EQ(journal_->audit().List({.since_us = now_})->records.size(), 1u);
}

TEST_F(SqliteAuditTest, PagesWithAToken) {
  for (int i = 0; i < 7; ++i) Append("CancelJob", "ops");
  AuditQuery q{.limit = 3};
  size_t seen = 0;
  for (int pages = 0; pages < 5; ++pages) {
    auto page = journal_->audit().List(q);
    ASSERT_TRUE(page.ok());
    seen += page->records.size();
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  EXPECT_EQ(seen, 7u);
  EXPECT_EQ(journal_->audit().List({.page_token = "x"}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteAuditTest, RecordsCannotBeChangedOrDeletedEvenWithSql) {
  Append("StartReflow", "alice");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("audit.journal").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET who = 'mallory'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto all = journal_->audit().List({});
  ASSERT_EQ(all->records.size(), 1u);
  EXPECT_EQ(all->records[0].who, "alice");
}

}  // namespace
}  // namespace reprise
