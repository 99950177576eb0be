#include "reprise/base/journal_url.h"

#include <gtest/gtest.h>

namespace reprise {
namespace {

TEST(JournalUrlTest, Sqlite) {
  auto u = ParseJournalUrl("sqlite:/var/lib/ledger.journal");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->backend, JournalUrl::Backend::kSqlite);
  EXPECT_EQ(u->path, "/var/lib/ledger.journal");
  EXPECT_EQ(u->vfs, "");
  auto v = ParseJournalUrl("sqlite:j.db?vfs=faulty");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->path, "j.db");
  EXPECT_EQ(v->vfs, "faulty");
  EXPECT_EQ(ParseJournalUrl("sqlite::memory:")->path, ":memory:");
}

TEST(JournalUrlTest, SqliteRefusals) {
  EXPECT_NE(ParseJournalUrl("sqlite:").status().message().find("names no file"), std::string::npos);
  EXPECT_NE(ParseJournalUrl("sqlite:j.db?cache=shared").status().message().find("takes ?vfs=NAME only"),
            std::string::npos);
}

TEST(JournalUrlTest, PostgresKeepsLibpqParametersAndTakesOutReprises) {
  auto u = ParseJournalUrl("postgresql://app:s3cret@db:5432/ledger?sslmode=require&reprise_append=pipeline");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->backend, JournalUrl::Backend::kPostgres);
  EXPECT_EQ(u->libpq, "postgresql://app:s3cret@db:5432/ledger?sslmode=require");
  EXPECT_EQ(u->append, "pipeline");
  EXPECT_EQ(u->display, "postgresql://app@db:5432/ledger?sslmode=require");
  auto p = ParseJournalUrl("postgres://h/db?password=x&connect_timeout=3");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->append, "copy");
  EXPECT_EQ(p->libpq, "postgres://h/db?password=x&connect_timeout=3");
  EXPECT_EQ(p->display, "postgres://h/db?connect_timeout=3");
}

TEST(JournalUrlTest, PostgresRefusals) {
  EXPECT_NE(ParseJournalUrl("postgresql://h/db?reprise_append=bulk").status().message().find(
                "is not copy, insert or pipeline"),
            std::string::npos);
  EXPECT_NE(ParseJournalUrl("postgresql://h/db?reprise_apend=copy").status().message().find("is unknown"),
            std::string::npos);
  auto other = ParseJournalUrl("mysql://h/db");
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(other.status().message().find("expected sqlite:PATH"), std::string::npos);
}

}  // namespace
}  // namespace reprise
