// The key index in runs (store/sqlite/key_runs.cc), with a small layout (runs
// of 16 seqs, 4 to 1 merges) so that a few thousand messages exercise every
// level.
#include "sqlite/key_runs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "reprise/base/ulid.h"
#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using sqlite::KeyRunLayout;
using testing::TempDir;

constexpr KeyRunLayout kSmall{.base_shift = 4, .fanout_shift = 2, .top_level = 3, .chunk = 20};

class KeyRunsTest : public ::testing::Test {
 protected:
  // A journal of `n` messages over `keys` keys, written in batches of 97
  // through the journal, then opened directly.
  void Fill(int n, int keys) {
    auto j = Journal::Open("sqlite:" + path_);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    UlidGenerator ids;
    WriteBatch b;
    for (int i = 0; i < n; ++i) {
      Message m;
      m.id = ids.Next(1000 + i);
      m.channel = "c" + std::to_string(i % 3);
      m.key = "k" + std::to_string((i * 7919) % keys);
      b.messages.push_back(m);
      if (b.messages.size() == 97 || i == n - 1) {
        ASSERT_TRUE((*j)->Write(b, false).ok());
        b.messages.clear();
      }
    }
    j->reset();
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* q = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &q, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    EXPECT_EQ(sqlite3_step(q), SQLITE_ROW) << sql;
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
  }
  std::vector<int64_t> Runs() {
    std::vector<int64_t> out;
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db_, "SELECT run FROM key_runs ORDER BY run", -1, &q, nullptr);
    while (sqlite3_step(q) == SQLITE_ROW) out.push_back(sqlite3_column_int64(q, 0));
    sqlite3_finalize(q);
    return out;
  }
  // Seqs of `key` found through the runs, and by reading every message.
  std::pair<std::set<int64_t>, std::set<int64_t>> Lookup(const std::string& key) {
    std::set<int64_t> through, scanned;
    for (auto [sql, out] : {std::pair{"SELECT seq FROM messages NOT INDEXED WHERE " +
                                          sqlite::ThroughKeyRuns("message_key = ?1"),
                                      &through},
                            std::pair{std::string("SELECT seq FROM messages NOT INDEXED WHERE "
                                                  "message_key = ?1"),
                                      &scanned}}) {
      sqlite3_stmt* q = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &q, nullptr), SQLITE_OK);
      sqlite3_bind_text(q, 1, key.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(q) == SQLITE_ROW) out->insert(sqlite3_column_int64(q, 0));
      sqlite3_finalize(q);
    }
    return {through, scanned};
  }
  // Every message has exactly one entry, with its key and seq, in a listed
  // run whose block holds its seq.
  void ExpectInvariant(const KeyRunLayout& layout) {
    EXPECT_EQ(Int("SELECT count(*) FROM message_keys"), Int("SELECT count(*) FROM messages"));
    EXPECT_EQ(Int("SELECT count(*) FROM messages m JOIN message_keys k ON k.seq = m.seq AND "
                  "k.message_key = m.message_key JOIN key_runs r ON r.run = k.run"),
              Int("SELECT count(*) FROM messages"));
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db_, "SELECT run, seq FROM message_keys", -1, &q, nullptr);
    int misplaced = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
      const int64_t run = sqlite3_column_int64(q, 0), seq = sqlite3_column_int64(q, 1);
      misplaced += sqlite::KeyRun(layout, sqlite::KeyRunLevel(run), seq) != run;
    }
    sqlite3_finalize(q);
    EXPECT_EQ(misplaced, 0);
  }

  TempDir dir_;
  const std::string path_ = dir_.File("runs.journal");
  sqlite3* db_ = nullptr;
};

TEST_F(KeyRunsTest, TheJournalIndexesEveryMessageItWritesInTheRunOfItsSeq) {
  Fill(500, 40);
  ExpectInvariant(KeyRunLayout{});
  EXPECT_EQ(Runs(), std::vector<int64_t>{0});  // 500 seqs: one level-0 run of 2^14
  for (const char* key : {"k0", "k17", "k39", "nope"}) {
    auto [through, scanned] = Lookup(key);
    EXPECT_EQ(through, scanned) << key;
  }
}

// A batch of 97 (seqs 16,297 to 16,393) spans the end of the first level-0
// run: its entries land in both runs, and both are listed.
TEST_F(KeyRunsTest, ABatchAcrossTheEndOfARunListsBothRuns) {
  Fill(16500, 40);
  ExpectInvariant(KeyRunLayout{});
  EXPECT_EQ(Runs(), (std::vector<int64_t>{0, 1}));
  for (const char* key : {"k0", "k17", "k39"}) {
    auto [through, scanned] = Lookup(key);
    EXPECT_EQ(through, scanned) << key;
  }
}

TEST_F(KeyRunsTest, MergingKeepsEveryEntryFindableAndEndsWithFewRuns) {
  Fill(3000, 150);
  // Rebuild the index in the small layout, as level-0 runs.
  Exec("DELETE FROM message_keys; DELETE FROM key_runs;"
       "INSERT INTO message_keys SELECT seq >> 4, message_key, seq FROM messages;"
       "INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;");
  EXPECT_EQ(Runs().size(), 3000u / 16 + 1);

  int steps = 0;
  int64_t moved = 0;
  while (true) {
    auto done = sqlite::CompactKeyRuns(db_, kSmall);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    if (*done == 0) break;
    moved += *done;
    ASSERT_LE(*done, kSmall.chunk + 150) << "a step moves about one chunk";  // a key's entries move together
    if (++steps % 25 == 0) {
      ExpectInvariant(kSmall);
      auto [through, scanned] = Lookup("k" + std::to_string(steps % 150));
      ASSERT_EQ(through, scanned);
    }
    ASSERT_LT(steps, 10000) << "merging must end";
  }
  ExpectInvariant(kSmall);
  // 3000 seqs: two level-3 runs of 1024 (the top level: never merged); below
  // them the incomplete range, at most three complete runs per level and the
  // level-0 run still filling.
  std::map<int, int> per_level;
  for (int64_t r : Runs()) ++per_level[sqlite::KeyRunLevel(r)];
  EXPECT_EQ(per_level[3], 2);
  EXPECT_LE(per_level[0], 4);
  for (int level = 1; level < 3; ++level) EXPECT_LE(per_level[level], 3) << level;
  // Entries below level 3 moved once per level they climbed: bounded by
  // three moves each.
  EXPECT_GT(moved, 3000);
  EXPECT_LE(moved, 3 * 3000 + steps);
  for (int k = 0; k < 150; k += 7) {
    auto [through, scanned] = Lookup("k" + std::to_string(k));
    EXPECT_EQ(through, scanned) << k;
    EXPECT_FALSE(through.empty());
  }
}

TEST_F(KeyRunsTest, AMergeInterruptedBetweenStepsResumesWhereItStopped) {
  Fill(300, 30);
  Exec("DELETE FROM message_keys; DELETE FROM key_runs;"
       "INSERT INTO message_keys SELECT seq >> 4, message_key, seq FROM messages;"
       "INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;");
  // One step, then a new connection (another process) finishes the work.
  auto first = sqlite::CompactKeyRuns(db_, kSmall);
  ASSERT_TRUE(first.ok());
  ASSERT_GT(*first, 0);
  sqlite3_close(db_);
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
  ExpectInvariant(kSmall);
  while (true) {
    auto done = sqlite::CompactKeyRuns(db_, kSmall);
    ASSERT_TRUE(done.ok());
    if (*done == 0) break;
  }
  ExpectInvariant(kSmall);
  for (int k = 0; k < 30; ++k) {
    auto [through, scanned] = Lookup("k" + std::to_string(k));
    EXPECT_EQ(through, scanned) << k;
  }
}

// Deleting the newest message lets SQLite take its seq again (no
// AUTOINCREMENT): the new entry lands in a level-0 run whose range was
// already merged, with a key below what the target run already holds.
TEST_F(KeyRunsTest, ASeqTakenAgainAfterTheNewestMessageIsDeletedStaysFindable) {
  Fill(63, 10);
  Exec("DELETE FROM message_keys; DELETE FROM key_runs;"
       "INSERT INTO message_keys SELECT seq >> 4, message_key, seq FROM messages;"
       "INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;");
  auto compact_all = [&] {
    for (int i = 0; i < 1000; ++i) {
      auto done = sqlite::CompactKeyRuns(db_, kSmall);
      ASSERT_TRUE(done.ok()) << done.status().ToString();
      if (*done == 0) return;
    }
    FAIL() << "merging must end";
  };
  compact_all();
  EXPECT_EQ(Runs(), std::vector<int64_t>{sqlite::KeyRun(kSmall, 1, 0)});  // seqs 1..63 in one level-1 run

  Exec("BEGIN");
  ASSERT_TRUE(sqlite::DeleteKeyEntries(db_, kSmall, "seq = ?1", 63).ok());
  Exec("DELETE FROM messages WHERE seq = 63; COMMIT");
  Exec("INSERT INTO messages (id, direction, channel, message_key, recorded_at, outcome) "
       "VALUES ('01HZZZZZZZZZZZZZZZZZZZZZZZ', 1, 'c', 'a', 0, 1)");
  ASSERT_EQ(Int("SELECT max(seq) FROM messages"), 63);
  const int64_t run = sqlite::KeyRun(kSmall, 0, 63);
  Exec("INSERT INTO key_runs VALUES (" + std::to_string(run) + ");"
       "INSERT INTO message_keys VALUES (" + std::to_string(run) + ", 'a', 63)");
  compact_all();
  ExpectInvariant(kSmall);
  auto [through, scanned] = Lookup("a");
  EXPECT_EQ(through, (std::set<int64_t>{63}));
  EXPECT_EQ(through, scanned);
}

// A key with most of the entries moves over several steps: a step is bounded
// by the chunk, not by the size of a key.
TEST_F(KeyRunsTest, AHotKeyIsMovedInBoundedSteps) {
  Fill(256, 1);  // every message has key k0
  Exec("DELETE FROM message_keys; DELETE FROM key_runs;"
       "INSERT INTO message_keys SELECT seq >> 4, message_key, seq FROM messages;"
       "INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;");
  int steps = 0;
  while (true) {
    auto done = sqlite::CompactKeyRuns(db_, kSmall);
    ASSERT_TRUE(done.ok());
    if (*done == 0) break;
    EXPECT_LE(*done, kSmall.chunk + 3) << "step " << steps;  // a share per source, rounded down
    ASSERT_LT(++steps, 1000);
  }
  ExpectInvariant(kSmall);
  auto [through, scanned] = Lookup("k0");
  EXPECT_EQ(through.size(), 256u);
  EXPECT_EQ(through, scanned);
}

TEST_F(KeyRunsTest, TheMigrationPutsEachEntryInItsHighestCompleteRun) {
  Fill(1500, 100);
  Exec("DROP TABLE message_keys; DROP TABLE key_runs;"
       "CREATE INDEX messages_by_key ON messages (message_key, id);");
  Exec(sqlite::KeyRunsMigration(kSmall, Int("SELECT max(seq) FROM messages")));
  ExpectInvariant(kSmall);
  // Seqs 1..1500: [0, 1024) is one level-3 run, [1024, 1280) a level-2 run,
  // three level-1 runs of 64 up to 1472, then two level-0 runs (the second
  // still filling). Nothing is left to merge.
  std::map<int, int> per_level;
  for (int64_t r : Runs()) ++per_level[sqlite::KeyRunLevel(r)];
  EXPECT_EQ(per_level, (std::map<int, int>{{0, 2}, {1, 3}, {2, 1}, {3, 1}}));
  auto done = sqlite::CompactKeyRuns(db_, kSmall);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, 0);
  EXPECT_EQ(Int("SELECT count(*) FROM sqlite_schema WHERE name = 'messages_by_key'"), 0);
}

// v12 rewrites v8's entries (with the message id) without the id, each in
// its highest complete run of the new layout, whatever the old layout left:
// here entries of a layout with another fanout (runs of 16, 32, 64, 128
// seqs) spread over three levels, a merge left half done, and the newest
// seq taken again after its message was deleted.
TEST_F(KeyRunsTest, TheVersion12MigrationRebuildsAnyOldLayoutIntoTheNewOne) {
  Fill(1500, 100);
  Exec("DROP TABLE message_keys; DELETE FROM key_runs;"
       "CREATE TABLE message_keys (run INTEGER NOT NULL, message_key TEXT NOT NULL, id TEXT NOT NULL,"
       "  seq INTEGER NOT NULL, PRIMARY KEY (run, message_key, id)) WITHOUT ROWID;"
       // Old layout: seqs below 1024 in level-3 runs of 128, up to 1408 in
       // level-1 runs of 32, the rest in level-0 runs of 16.
       "INSERT INTO message_keys SELECT CASE WHEN seq < 1024 THEN (3 << 40) | (seq >> 7)"
       "  WHEN seq < 1408 THEN (1 << 40) | (seq >> 5) ELSE seq >> 4 END, message_key, id, seq FROM messages;"
       // A merge of runs 88 and 89 into level-1 run 44, half done.
       "INSERT INTO message_keys SELECT (1 << 40) | 44, message_key, id, seq FROM message_keys"
       "  WHERE run IN (88, 89) AND message_key < 'k5';"
       "DELETE FROM message_keys WHERE run IN (88, 89) AND message_key < 'k5';"
       // The newest message deleted, its seq taken again.
       "DELETE FROM message_keys WHERE seq = 1500; DELETE FROM messages WHERE seq = 1500;"
       "INSERT INTO messages (id, direction, channel, message_key, recorded_at, outcome) "
       "VALUES ('01HZZZZZZZZZZZZZZZZZZZZZZZ', 1, 'c', 'a', 0, 1);"
       "INSERT INTO message_keys VALUES (93, 'a', '01HZZZZZZZZZZZZZZZZZZZZZZZ', 1500);"
       "INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;");
  ASSERT_EQ(Int("SELECT max(seq) FROM messages"), 1500);
  ASSERT_EQ(Int("SELECT count(*) FROM message_keys WHERE run = ((1 << 40) | 44)"),
            Int("SELECT count(*) FROM messages WHERE seq >= 1408 AND seq < 1440 AND message_key < 'k5'"));

  Exec(sqlite::KeyEntriesWithoutIdMigration(kSmall, 1500));
  ExpectInvariant(kSmall);
  EXPECT_EQ(Int("SELECT count(*) FROM pragma_table_info('message_keys') WHERE name = 'id'"), 0);
  // kSmall's runs for seqs 1..1500: [0, 1024) level 3, [1024, 1280) level 2,
  // three level-1 runs of 64 up to 1472, then two level-0 runs.
  std::map<int, int> per_level;
  for (int64_t r : Runs()) ++per_level[sqlite::KeyRunLevel(r)];
  EXPECT_EQ(per_level, (std::map<int, int>{{0, 2}, {1, 3}, {2, 1}, {3, 1}}));
  for (const char* key : {"a", "k0", "k42", "k99"}) {
    auto [through, scanned] = Lookup(key);
    EXPECT_FALSE(through.empty()) << key;
    EXPECT_EQ(through, scanned) << key;
  }
  auto done = sqlite::CompactKeyRuns(db_, kSmall);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(*done, 0);
  // Retention finds every entry where the layout says it is.
  Exec("BEGIN");
  ASSERT_TRUE(sqlite::DeleteKeyEntries(db_, kSmall, "seq > ?1", 0).ok());
  Exec("COMMIT");
  EXPECT_EQ(Int("SELECT count(*) FROM message_keys"), 0);
  EXPECT_TRUE(Runs().empty());
}

TEST_F(KeyRunsTest, RetentionDropsEntriesAndEmptiedRuns) {
  Fill(200, 20);
  auto j = Journal::Open("sqlite:" + path_);
  ASSERT_TRUE(j.ok());
  // A cutoff a day after the newest message drops them all.
  auto dropped = (*j)->DropBefore(Int("SELECT max(recorded_at) FROM messages") + 86400LL * 1000 * 1000);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(*dropped, 200u);
  EXPECT_EQ(Int("SELECT count(*) FROM message_keys"), 0);
  EXPECT_TRUE(Runs().empty());
  // New messages are indexed again (their run is listed anew).
  UlidGenerator ids;
  WriteBatch b;
  Message m;
  m.id = ids.Next(5000);
  m.channel = "c";
  m.key = "k-new";
  b.messages.push_back(m);
  ASSERT_TRUE((*j)->Write(b, false).ok());
  auto page = (*j)->List({.filter = "key = k-new"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 1u);
  ExpectInvariant(KeyRunLayout{});
}

}  // namespace
}  // namespace reprise
