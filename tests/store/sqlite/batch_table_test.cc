// reprise_batch, a write batch as a table (store/sqlite/batch_table.cc), on
// an in-memory database.
#include "sqlite/batch_table.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

namespace reprise {
namespace {

class BatchTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    ASSERT_TRUE(sqlite::RegisterBatchTable(db_, &rows_).ok());
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
  }

  sqlite3* db_ = nullptr;
  sqlite::BatchRows rows_;
};

TEST_F(BatchTableTest, ShowsEveryColumnAndEmptyOptionalStringsAsNull) {
  Message full{.id = "01J00000000000000000000001",
               .direction = Direction::kOut,
               .channel = "payments.sent",
               .key = "account:7",
               .correlation_id = "c1",
               .causation_id = "c2",
               .headers = {{"h", "v"}},
               .payload = std::string("a\0b", 3),
               .content_type = "application/octet-stream",
               .recorded_at_us = 1234567,
               .outcome = Outcome::kFailed,
               .error = "timeout",
               .attempt = 3,
               .origin_id = "o1",
               .job_id = "j1",
               .flow_variant = "v2"};
  Message bare{.id = "01J00000000000000000000002", .channel = "c", .key = "k"};
  const std::vector<Message> batch = {full, bare};
  rows_.messages = &batch;

  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_,
                               (std::string("SELECT ") + sqlite::kBatchColumns + ", ordinal FROM reprise_batch")
                                   .c_str(),
                               -1, &q, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db_);
  auto text = [&](int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(q, i));
    return p == nullptr ? std::string("<null>") : std::string(p, sqlite3_column_bytes(q, i));
  };

  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(text(0), full.id);
  EXPECT_EQ(sqlite3_column_int(q, 1), static_cast<int>(Direction::kOut));
  EXPECT_EQ(text(2), "payments.sent");
  EXPECT_EQ(text(3), "account:7");
  EXPECT_EQ(text(4), "c1");
  EXPECT_EQ(text(5), "c2");
  EXPECT_EQ(text(6), "{\"h\":\"v\"}");
  EXPECT_EQ(sqlite3_column_type(q, 7), SQLITE_BLOB);
  EXPECT_EQ(std::string(static_cast<const char*>(sqlite3_column_blob(q, 7)), sqlite3_column_bytes(q, 7)),
            std::string("a\0b", 3));
  EXPECT_EQ(text(8), "application/octet-stream");
  EXPECT_EQ(sqlite3_column_int64(q, 9), 1234567);
  EXPECT_EQ(sqlite3_column_int(q, 10), static_cast<int>(Outcome::kFailed));
  EXPECT_EQ(text(11), "timeout");
  EXPECT_EQ(sqlite3_column_int(q, 12), 3);
  EXPECT_EQ(text(13), "o1");
  EXPECT_EQ(text(14), "j1");
  EXPECT_EQ(text(15), "v2");
  EXPECT_EQ(sqlite3_column_int64(q, 16), 3);
  EXPECT_EQ(sqlite3_column_int64(q, 17), 0);

  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(text(0), bare.id);
  for (int column : {4, 5, 6, 8, 11, 13, 14, 15}) {
    EXPECT_EQ(sqlite3_column_type(q, column), SQLITE_NULL) << "column " << column;
  }
  EXPECT_EQ(sqlite3_column_type(q, 7), SQLITE_BLOB) << "an empty payload is an empty blob, as bound before";
  EXPECT_EQ(sqlite3_column_int64(q, 16), 0);
  EXPECT_EQ(sqlite3_column_int64(q, 17), 1);
  EXPECT_EQ(sqlite3_step(q), SQLITE_DONE);
  sqlite3_finalize(q);
}

// The journal gives each row's key entry the seq max(seq) + 1 + ordinal:
// an INSERT ... SELECT from the table must add the rows in batch order,
// one seq after the other.
TEST_F(BatchTableTest, AnInsertTakesConsecutiveRowidsInBatchOrder) {
  Exec("CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, ordinal INTEGER)");
  Exec("INSERT INTO t VALUES (41, 'older', -1)");
  std::vector<Message> batch;
  for (const char* id : {"m3", "m1", "m2"}) batch.push_back(Message{.id = id});
  rows_.messages = &batch;
  Exec("INSERT INTO t (id, ordinal) SELECT id, ordinal FROM reprise_batch");
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT seq, id, ordinal FROM t WHERE seq > 41 ORDER BY seq", -1, &q, nullptr),
            SQLITE_OK);
  std::vector<std::string> seen;
  while (sqlite3_step(q) == SQLITE_ROW) {
    EXPECT_EQ(sqlite3_column_int64(q, 0), 42 + sqlite3_column_int64(q, 2));
    seen.push_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 1)));
  }
  sqlite3_finalize(q);
  EXPECT_EQ(seen, (std::vector<std::string>{"m3", "m1", "m2"}));
}

// What the journal's insert does with a refused row: INSERT OR ROLLBACK
// ends the whole transaction, the rows written before it in the same
// transaction included.
TEST_F(BatchTableTest, ADuplicateIdRollsTheTransactionBack) {
  Exec("CREATE TABLE t (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE)");
  std::vector<Message> batch = {Message{.id = "a"}, Message{.id = "b"}, Message{.id = "a"}};
  rows_.messages = &batch;
  Exec("BEGIN IMMEDIATE");
  Exec("INSERT INTO t (id) VALUES ('earlier')");
  EXPECT_EQ(sqlite3_exec(db_, "INSERT OR ROLLBACK INTO t (id) SELECT id FROM reprise_batch", nullptr, nullptr,
                         nullptr),
            SQLITE_CONSTRAINT);
  EXPECT_EQ(sqlite3_get_autocommit(db_), 1) << "no transaction left open";
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT count(*) FROM t", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
}

TEST_F(BatchTableTest, NoBatchReadsAsEmpty) {
  Exec("CREATE TABLE t (id TEXT)");
  Exec("INSERT INTO t SELECT id FROM reprise_batch");
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT count(*) FROM t", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 0);
  sqlite3_finalize(q);
}

}  // namespace
}  // namespace reprise
