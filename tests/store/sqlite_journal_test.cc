// SQLite-only behaviour; the contract both backends share is in
// journal_contract_test.cc.
#include <gtest/gtest.h>

#include <fstream>

#include "reprise/store/journal.h"
#include "reprise/store/ulid.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using testing::TempDir;

TEST(SqliteJournalTest, AFileThatIsNotAJournalIsReportedNotCrashed) {
  TempDir dir_;
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
