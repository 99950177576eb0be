// The connections behind a SQLite journal: the checkpointer copies the WAL
// into the database once it has grown, off the committing thread.
#include "sqlite/connections.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "sqlite/util.h"
#include "support/test_env.h"

namespace reprise::sqlite {
namespace {

TEST(SqliteConnectionsTest, TheCheckpointerCopiesTheWalOnceItHasGrown) {
  testing::TempDir dir;
  const std::string path = dir.File("c.db");
  auto conns = Connections::Open(path);
  ASSERT_TRUE(conns.ok()) << conns.status().ToString();
  {
    auto w = (*conns)->LockWriter();
    ASSERT_TRUE(Exec(w.db(), "CREATE TABLE t (b BLOB)").ok());
  }
  // About 6,000 pages of 4 KiB in commits of 100: past the 4,096 pages at
  // which a commit wakes the checkpointer, below the 16,384 at which a
  // commit would checkpoint by itself.
  for (int commit = 0; commit < 60; ++commit) {
    auto w = (*conns)->LockWriter();
    ASSERT_TRUE(Exec(w.db(),
                     "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
                     "INSERT INTO t SELECT randomblob(4000) FROM n")
                    .ok());
  }
  // A checkpoint that overlaps a commit can stop short of the WAL's end (a
  // read mark of the committing connection pins it; it failed so in CI):
  // as in a running journal, the next commit past the mark asks again.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((*conns)->checkpointed_frames() < 4096u && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if ((*conns)->checkpointed_frames() == 0) continue;
    auto w = (*conns)->LockWriter();
    ASSERT_TRUE(Exec(w.db(), "INSERT INTO t VALUES (randomblob(10))").ok());
  }
  EXPECT_GE((*conns)->checkpointed_frames(), 4096u) << "the checkpointer copied nothing";
  // The copied pages are in the database file itself, not only in the WAL
  // (two pages before). Fewer pages than frames: a commit also rewrites the
  // table's interior pages, copied once however many frames hold them.
  EXPECT_GT(std::filesystem::file_size(path), 3000u * 4096u);
}

// The death tests run their statement in a fresh process (the "threadsafe"
// style re-executes this binary), where nothing has used SQLite yet; the
// exit code says what sqlite3_memory_used() saw after a few writes.
void WriteAndExitWithMemoryCounted() {
  auto conns = Connections::Open(":memory:");
  if (!conns.ok()) std::_Exit(2);
  auto w = (*conns)->LockWriter();
  if (!Exec(w.db(), "CREATE TABLE t (b BLOB); INSERT INTO t VALUES (randomblob(100000))").ok()) std::_Exit(3);
  std::_Exit(sqlite3_memory_used() > 0 ? 1 : 0);
}

TEST(SqliteConnectionsDeathTest, TheFirstOpenTurnsSqliteMemoryStatisticsOff) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(WriteAndExitWithMemoryCounted(), ::testing::ExitedWithCode(0), "");
}

TEST(SqliteConnectionsDeathTest, AHostThatInitializedSqliteKeepsItsStatistics) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // Whatever this SQLite's build defaults to.
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1);
        sqlite3_initialize();
        WriteAndExitWithMemoryCounted();
      },
      ::testing::ExitedWithCode(1), "");
}

}  // namespace
}  // namespace reprise::sqlite
