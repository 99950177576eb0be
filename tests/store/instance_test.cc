// ReadLiveInstances (store/instance.cc), the registry's reader for processes
// that do not open the journal (the console's fleet mode), on both backends:
// it lists what ListInstances lists, and never creates or migrates a journal.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "reprise/store/instance.h"
#include "reprise/store/journal.h"
#include "support/postgres_server.h"
#include "support/test_env.h"

namespace reprise {
namespace {

std::string Ids(const std::vector<InstanceRecord>& list) {
  std::string out;
  for (const InstanceRecord& i : list) out += (out.empty() ? "" : ",") + i.id;
  return out;
}

class ReadLiveInstancesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + dir_.File("test.journal");
      return;
    }
    auto server = testing::PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto url = (*server)->NewJournalUrl();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
  }

  testing::TempDir dir_;
  std::string url_;
};

TEST_P(ReadLiveInstancesTest, ListsTheLiveInstancesAsTheRegistryDoes) {
  auto journal = Journal::Open(url_);
  ASSERT_TRUE(journal.ok()) << journal.status().ToString();
  InstanceStore& reg = (*journal)->instances();
  ASSERT_TRUE(reg.Register({.id = "h:2", .service = "ledger", .host = "h", .pid = 2, .address = "127.0.0.1:2",
                            .agent_version = "0.1.0", .started_at_us = 17})
                  .ok());
  ASSERT_TRUE(reg.Register({.id = "h:1", .service = "ledger", .host = "h", .pid = 1}).ok());
  ASSERT_TRUE(reg.Register({.id = "h:3", .service = "billing", .host = "g", .pid = 3}).ok());
  ASSERT_TRUE(reg.Register({.id = "h:4", .service = "ledger", .host = "h", .pid = 4}).ok());
  ASSERT_TRUE(reg.MarkGone("h:4", "stopped").ok());

  auto ledger = ReadLiveInstances(url_, "ledger");
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  EXPECT_EQ(Ids(*ledger), "h:1,h:2");
  const InstanceRecord& two = (*ledger)[1];
  EXPECT_EQ(two.service, "ledger");
  EXPECT_EQ(two.host, "h");
  EXPECT_EQ(two.pid, 2);
  EXPECT_EQ(two.address, "127.0.0.1:2");
  EXPECT_EQ(two.agent_version, "0.1.0");
  EXPECT_EQ(two.started_at_us, 17);
  EXPECT_GT(two.heartbeat_at_us, 0);
  EXPECT_EQ(two.state, InstanceState::kLive);

  auto every = ReadLiveInstances(url_, "");
  ASSERT_TRUE(every.ok()) << every.status().ToString();
  EXPECT_EQ(Ids(*every), "h:3,h:1,h:2");  // by service, then id
  auto listed = reg.ListInstances("", false);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(Ids(*listed), Ids(*every));

  // The journal closed, the reader still reads what it left.
  journal->reset();
  auto after = ReadLiveInstances(url_, "billing");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(Ids(*after), "h:3");
}

INSTANTIATE_TEST_SUITE_P(Backends, ReadLiveInstancesTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

TEST(ReadLiveInstances, AMissingSqliteFileIsNotCreated) {
  testing::TempDir dir;
  const std::string path = dir.File("nothing.journal");
  auto r = ReadLiveInstances("sqlite:" + path, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "cannot open journal " + path + ": unable to open database file");
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0) << "the reader created " << path;
}

TEST(ReadLiveInstances, ASqliteFileWithoutARegistryIsLeftAsItIs) {
  testing::TempDir dir;
  const std::string path = dir.File("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = ReadLiveInstances("sqlite:" + path, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "journal " + path +
                                      " has no instance registry (no such table: instances); is it a "
                                      "Reprise journal of schema 5 or later?");
  // No schema was created or migrated: the file holds its one table.
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(name) FROM sqlite_master", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "t");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(ReadLiveInstances, APostgresqlSchemaWithoutARegistryIsLeftAsItIs) {
  auto server = testing::PostgresServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto url = (*server)->NewJournalUrl();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  for (int attempt = 0; attempt < 2; ++attempt) {  // the first read migrated nothing
    auto r = ReadLiveInstances(*url, "");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message().rfind("reading the instance registry: ERROR:  relation \"instances\"", 0), 0u)
        << r.status().message();
  }
}

TEST(ReadLiveInstances, UrlsThatNameNoSharedJournal) {
  auto memory = ReadLiveInstances("sqlite::memory:", "");
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.status().message(), "journal URL sqlite::memory: names no shared file");
  auto bogus = ReadLiveInstances("bogus", "");
  ASSERT_FALSE(bogus.ok());
  EXPECT_EQ(bogus.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bogus.status().message().find("unknown journal URL \"bogus\""), std::string::npos)
      << bogus.status().message();
  // Nothing listens on port 1.
  auto nobody = ReadLiveInstances("postgresql://nobody@127.0.0.1:1/x", "");
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.status().message().rfind("cannot connect to the journal: connection to server at", 0), 0u)
      << nobody.status().message();
}

}  // namespace
}  // namespace reprise
