// The WAL-gathering VFS: a commit's frames are in the file when the commit
// returns, as a process that opens the journal after a kill -9 reads them.
#include "sqlite/wal_buffer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <utility>

#include "sqlite/connections.h"
#include "sqlite/util.h"
#include "support/test_env.h"

namespace reprise::sqlite {
namespace {

// Rows of table t in a copy of the database and its WAL, without the WAL
// index (-shm): opening the copy rebuilds the index from the WAL's frames,
// checking every frame's checksum, as after a crash of the writer.
int64_t RowsAfterACrash(const testing::TempDir& dir, const std::string& path) {
  namespace fs = std::filesystem;
  const std::string copy = dir.File("crashed.db");
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(copy + suffix);
  fs::copy_file(path, copy);
  fs::copy_file(path + "-wal", copy + "-wal");
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(copy.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
      n = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return n;
}

// count(*) and sum(length(b)) of table t through `db`, or {-1, -1}.
std::pair<int64_t, int64_t> Rows(sqlite3* db) {
  sqlite3_stmt* q = nullptr;
  std::pair<int64_t, int64_t> rows{-1, -1};
  if (sqlite3_prepare_v2(db, "SELECT count(*), sum(length(b)) FROM t", -1, &q, nullptr) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    rows = {sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1)};
  }
  sqlite3_finalize(q);
  return rows;
}

class WalGatheringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conns = Connections::Open(path_);
    ASSERT_TRUE(conns.ok()) << conns.status().ToString();
    conns_ = std::move(*conns);
    // NORMAL, as the journal writes in async and process durability: no
    // sync at commit, which would write out what is gathered anyway.
    auto w = conns_->LockWriter();
    ASSERT_TRUE(Exec(w.db(), "PRAGMA synchronous=NORMAL").ok());
    ASSERT_TRUE(Exec(w.db(), "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)").ok());
  }

  void Commit(const std::string& sql) {
    auto w = conns_->LockWriter();
    ASSERT_TRUE(Exec(w.db(), sql.c_str()).ok()) << sql;
  }

  static std::string Insert(int n) {
    return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(n) +
           ") INSERT INTO t (b) SELECT randomblob(3000) FROM n;";
  }

  testing::TempDir dir_;
  const std::string path_ = dir_.File("g.db");
  std::unique_ptr<Connections> conns_;
};

TEST_F(WalGatheringTest, EveryCommitIsInTheFileWhenItReturns) {
  // One row, a few pages, more than the unix VFS writes in one call
  // (128 KiB), and more than the VFS gathers at once (4 MiB).
  int64_t rows = 0;
  for (int n : {1, 1, 30, 200, 1500, 3}) {
    Commit(Insert(n));
    rows += n;
    EXPECT_EQ(RowsAfterACrash(dir_, path_), rows) << "after a commit of " << n << " rows";
  }
}

TEST_F(WalGatheringTest, ACommitThatRewritesItsSpilledFramesIsInTheFile) {
  // A page cache of a few pages spills the transaction's frames to the WAL
  // before its commit; changing a spilled page again rewrites its frame in
  // place, and the commit then rewrites the checksums of the frames after
  // it, the commit frame's header last, when nothing else follows.
  Commit("PRAGMA cache_size=5");
  for (int rows = 100; rows <= 300; rows += 100) {
    Commit("BEGIN; " + Insert(100) + " UPDATE t SET b = randomblob(3000) WHERE id IN (" +
           std::to_string(rows - 80) + ", " + std::to_string(rows - 50) + ", " + std::to_string(rows) +
           "); COMMIT;");
    EXPECT_EQ(RowsAfterACrash(dir_, path_), rows);
  }
}

TEST_F(WalGatheringTest, FramesOfARolledBackTransactionNeverLandOverAnotherWritersCommit) {
  auto other = Connections::Open(path_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  Commit("PRAGMA cache_size=5");
  // Transactions of several sizes, so that some end right after a spill.
  int64_t rows = 0;
  for (int n = 20; n <= 80; n += 3) {
    // Spills frames to the log, then gives them up.
    Commit("BEGIN; " + Insert(n) + " ROLLBACK;");
    {
      // The other connection writes its commit where those frames were.
      auto w = (*other)->LockWriter();
      ASSERT_TRUE(Exec(w.db(), Insert(2).c_str()).ok());
    }
    rows += 2;
    // The first connection reads the log again: what it gathered must not
    // have waited until now to be written. (This SQLite reads pages back as
    // it rolls back, which writes them out too; giving up the write lock is
    // what guarantees it.)
    auto w = conns_->LockWriter();
    ASSERT_EQ(Rows(w.db()), std::make_pair(rows, rows * 3000)) << "after a rollback of " << n << " rows";
  }
  EXPECT_EQ(RowsAfterACrash(dir_, path_), rows);
}

TEST(WalGatheringFullSyncTest, PaddingFramesAreInTheFileBeforeReadersSeeThem) {
  // With synchronous=FULL on a device without powersafe overwrite, SQLite
  // pads a commit with copies of its last frame up to a sector boundary,
  // syncing in the middle of the one that crosses it; readers then read the
  // page from the last copy.
  testing::TempDir dir;
  const std::string path = dir.File("full.db");
  auto vfs = WalGatheringVfs("");
  ASSERT_TRUE(vfs.ok()) << vfs.status().ToString();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(("file:" + path + "?psow=0").c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, vfs->c_str()),
            SQLITE_OK);
  ASSERT_TRUE(Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (b BLOB)").ok());
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Exec(db, "INSERT INTO t VALUES (randomblob(3000))").ok());
    EXPECT_EQ(Rows(reader), std::make_pair(int64_t{i}, int64_t{i} * 3000)) << "after commit " << i;
  }
  sqlite3_close(reader);
  sqlite3_close(db);
}

TEST(WalGatheringVfsTest, StacksOnANamedVfsAndRefusesAnUnknownOne) {
  auto named = WalGatheringVfs("unix");
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_NE(sqlite3_vfs_find(named->c_str()), nullptr);
  auto again = WalGatheringVfs("unix");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *named) << "registered once per base";
  auto unknown = WalGatheringVfs("no-such-vfs");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no-such-vfs"), std::string::npos);
}

}  // namespace
}  // namespace reprise::sqlite
