// The WAL-gathering VFS: a commit's frames are in the file when the commit
// returns, as a process that opens the journal after a kill -9 reads them.
#include "sqlite_wal_buffer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "sqlite_connections.h"
#include "sqlite_util.h"
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
