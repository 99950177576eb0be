// SQLite-only behaviour; the contract both backends share is in
// tests/store/journal_contract_test.cc.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "reprise/base/ulid.h"
#include "reprise/store/filter.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "sqlite/journal.h"
#include "support/fault_vfs.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using testing::TempDir;

// A message with a fresh id (at `ms`), `channel` and `key`; tests set the
// rest.
Message NewMessage(UlidGenerator& ids, int64_t ms, std::string channel, std::string key) {
  Message m;
  m.id = ids.Next(ms);
  m.channel = std::move(channel);
  m.key = std::move(key);
  return m;
}

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

TEST(JournalOpenTest, UrlOptionsSelectAVfsAndRejectUnknownOnes) {
  testing::TempDir dir;
  auto unknown = Journal::Open("sqlite:" + dir.File("j.journal") + "?cache=shared");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("?vfs=NAME"), std::string::npos);
  auto no_vfs = Journal::Open("sqlite:" + dir.File("j.journal") + "?vfs=no-such-vfs");
  ASSERT_FALSE(no_vfs.ok());
  EXPECT_NE(no_vfs.status().message().find("no-such-vfs"), std::string::npos)
      << no_vfs.status().ToString();
  testing::FaultVfs::Register();
  auto j = Journal::Open("sqlite:" + dir.File("j.journal") + "?vfs=reprise-fault");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)->Describe(), "sqlite:" + dir.File("j.journal") + "?vfs=reprise-fault");
}

// Through the fault-injecting VFS: a full disk or an I/O error fails the
// write as UNAVAILABLE (retryable), loses nothing committed before, and the
// journal takes writes again once the fault clears.
TEST(SqliteJournalFaultTest, WritesFailWhileTheDiskIsFullOrBadAndWorkAfterwards) {
  using testing::FaultVfs;
  FaultVfs::Register();
  testing::TempDir dir;
  const std::string url = "sqlite:" + dir.File("f.journal") + "?vfs=reprise-fault";
  auto j = Journal::Open(url);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  UlidGenerator ids;
  auto batch = [&](int n) {
    WriteBatch b;
    for (int i = 0; i < n; ++i) {
      Message m = NewMessage(ids, 1700000000000 + i, "c", "k" + std::to_string(i % 3));
      m.payload = std::string(300, 'p');
      b.messages.push_back(std::move(m));
    }
    return b;
  };
  auto count = [&] {
    auto c = (*j)->Count("", "");
    return c.ok() && !c->empty() ? c->front().count : 0;
  };
  WriteBatch before = batch(50);
  ASSERT_TRUE((*j)->Write(before, false).ok());

  for (auto [fault, text] : {std::pair{FaultVfs::kDiskFull, "full"},
                             std::pair{FaultVfs::kIoError, "I/O error"}}) {
    const uint64_t failed_before = FaultVfs::FailedWrites();
    FaultVfs::Inject(fault, /*after_bytes=*/2048);  // fails in the middle of the batch
    for (bool sync : {false, true}) {
      Status st = (*j)->Write(batch(200), sync);
      EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
      EXPECT_NE(st.message().find(text), std::string::npos) << st.ToString();
    }
    EXPECT_GT(FaultVfs::FailedWrites(), failed_before);
    FaultVfs::Clear();
    EXPECT_EQ(count(), before.messages.size()) << "a failed batch is all or nothing; nothing before it is lost";
    for (const Message& m : before.messages) EXPECT_TRUE((*j)->Get(m.id).ok()) << m.id;
    WriteBatch after = batch(10);
    ASSERT_TRUE((*j)->Write(after, false).ok());
    EXPECT_TRUE((*j)->Get(after.messages.back().id).ok());
    ASSERT_TRUE((*j)->Write({.messages = {}, .outcomes = {{.id = after.messages[0].id,
                                                           .outcome = Outcome::kFailed}}},
                            false)
                    .ok());
    before.messages.insert(before.messages.end(), after.messages.begin(), after.messages.end());
    ASSERT_EQ(count(), before.messages.size());
  }
  j->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("f.journal").c_str(), &db), SQLITE_OK);
  char* result = nullptr;
  std::string check;
  sqlite3_exec(db, "PRAGMA integrity_check", [](void* out, int, char** v, char**) {
    *static_cast<std::string*>(out) += v[0] ? v[0] : "";
    return 0;
  }, &check, &result);
  sqlite3_free(result);
  sqlite3_close(db);
  EXPECT_EQ(check, "ok");
}

// Garbage over the middle of a journal: opening or reading it fails with
// DATA_LOSS and a message that says what to do; nothing crashes.
TEST(SqliteJournalFaultTest, ACorruptJournalGivesAClearErrorNotACrash) {
  testing::TempDir dir;
  const std::string path = dir.File("c.journal");
  {
    auto j = Journal::Open("sqlite:" + path);
    ASSERT_TRUE(j.ok());
    UlidGenerator ids;
    WriteBatch b;
    for (int i = 0; i < 2000; ++i) {
      Message m = NewMessage(ids, 1700000000000 + i, "c" + std::to_string(i % 5), "k" + std::to_string(i));
      m.payload = std::string(100, 'p');
      b.messages.push_back(std::move(m));
    }
    ASSERT_TRUE((*j)->Write(b, false).ok());
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekp(8192);  // past the header and schema page
    std::string garbage(64 * 1024, '\0');
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  Status st;
  auto j = Journal::Open("sqlite:" + path);
  if (!j.ok()) {
    st = j.status();
  } else {
    auto c = (*j)->Count("", "channel");
    st = c.ok() ? Status::Ok() : c.status();
    for (ListQuery q{.page_size = 1000, .with_payload = true}; st.ok();) {
      auto page = (*j)->List(q);
      if (!page.ok()) st = page.status();
      else if (page->next_page_token.empty()) break;
      else q.page_token = page->next_page_token;
    }
  }
  ASSERT_FALSE(st.ok()) << "64 KiB of garbage should not go unnoticed";
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
  EXPECT_NE(st.message().find("journal file is damaged"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(".recover"), std::string::npos) << st.ToString();
}

TEST(JournalOpenTest, InMemoryJournalWorks) {
  auto j = Journal::Open("sqlite::memory:");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  UlidGenerator ids;
  const Message m = NewMessage(ids, 1, "c", "k");
  WriteBatch b;
  b.messages.push_back(m);
  ASSERT_TRUE((*j)->Write(b, false).ok());
  EXPECT_TRUE((*j)->Get(m.id).ok());
}

// A key lookup seeks the key index (message_keys, schema v8) once per run and
// reads the key's rows by seq: it never scans messages, alone or with other
// conditions. A row written without payload_size (by hand) still lists its
// payload's size.
TEST(SqliteJournalTest, KeyListingsSeekTheKeyIndexAndRowsWithoutASizeKeepTheirSize) {
  TempDir dir;
  const std::string path = dir.File("k.journal");
  auto j = Journal::Open("sqlite:" + path);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  UlidGenerator ids;
  WriteBatch b;
  for (size_t size : {0, 5, 300}) {
    Message m = NewMessage(ids, 1000 + static_cast<int64_t>(size), "c", "k");
    m.payload = std::string(size, 'p');
    b.messages.push_back(m);
  }
  ASSERT_TRUE((*j)->Write(b, false).ok());

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  // The row of 300 bytes as if written by hand.
  ASSERT_EQ(sqlite3_exec(db, "UPDATE messages SET payload_size = NULL WHERE payload_size = 300",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (const char* filter : {"key = k", "key = k and channel = c", "key in (k, j) and outcome = pending"}) {
    auto compiled = filter::Compile(filter, {filter::Dialect::kSqlite, 0, 1, /*sqlite_journal=*/true});
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    sqlite3_stmt* q = nullptr;
    EXPECT_TRUE(compiled->keyed) << filter;
    const std::string sql = "EXPLAIN QUERY PLAN SELECT id FROM messages NOT INDEXED WHERE (" +
                            compiled->where + ") ORDER BY id DESC LIMIT 51";
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string plan;
    while (sqlite3_step(q) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(q, 3));
      plan += "\n";
    }
    sqlite3_finalize(q);
    EXPECT_NE(plan.find("SEARCH messages USING INTEGER PRIMARY KEY"), std::string::npos) << filter << "\n" << plan;
    EXPECT_NE(plan.find("SEARCH message_keys USING PRIMARY KEY (run=? AND message_key"), std::string::npos)
        << filter << "\n" << plan;
    EXPECT_EQ(plan.find("SCAN messages"), std::string::npos) << filter << "\n" << plan;
  }
  sqlite3_close(db);

  auto page = (*j)->List({.filter = "key = k"});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages.size(), 3u);
  EXPECT_EQ(page->messages[0].payload_size, 300u);  // newest first
  EXPECT_EQ(page->messages[1].payload_size, 5u);
  EXPECT_EQ(page->messages[2].payload_size, 0u);
}

// The plan SQLite picks for a filter over messages, one line per step.
int64_t CountOf(sqlite3* db, const char* sql) {
  sqlite3_stmt* q = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &q, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  EXPECT_EQ(sqlite3_step(q), SQLITE_ROW) << sql;
  const int64_t n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

std::string PlanOf(sqlite3* db, std::string_view filter_text) {
  auto compiled = filter::Compile(filter_text, {filter::Dialect::kSqlite, 0, 1, /*sqlite_journal=*/true});
  if (!compiled.ok()) return compiled.status().ToString();
  const std::string sql = "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE (" + compiled->where +
                          ") ORDER BY id DESC LIMIT 51";
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) != SQLITE_OK) return sqlite3_errmsg(db);
  std::string plan;
  while (sqlite3_step(q) == SQLITE_ROW) plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 3))) + "\n";
  sqlite3_finalize(q);
  return plan;
}

// Schema v9 leaves ok rows out of the outcome index; the filter compiler
// states the index's condition, so queries for the other outcomes still
// search it rather than scan the table.
// Each of `filters`, on a fresh journal, searches `index` and scans nothing.
void ExpectFiltersSearch(const std::string& index, std::initializer_list<const char*> filters) {
  TempDir dir;
  const std::string path = dir.File("plan.journal");
  auto j = Journal::Open("sqlite:" + path);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  for (const char* f : filters) {
    const std::string plan = PlanOf(db, f);
    EXPECT_NE(plan.find("INDEX " + index), std::string::npos) << f << "\n" << plan;
    EXPECT_EQ(plan.find("SCAN messages"), std::string::npos) << f << "\n" << plan;
  }
  sqlite3_close(db);
}

TEST(SqliteJournalTest, OutcomeFiltersSearchThePartialOutcomeIndex) {
  ExpectFiltersSearch("messages_by_outcome", {"outcome = failed", "outcome = pending",
                                              "outcome in (failed, skipped)",
                                              "outcome = failed and recorded > 2026-01-01"});
}

// Schema v14's index of unresolved outcomes serves `outcome = failed and
// not resolved` as the outcome index serves `outcome = failed`: a search,
// never a scan or a look at each failed row.
TEST(SqliteJournalTest, UnresolvedFiltersSearchTheUnresolvedIndex) {
  ExpectFiltersSearch("messages_unresolved", {"outcome = failed and not resolved",
                                              "outcome = failed and resolved = false",
                                              "not resolved and outcome in (failed, skipped)"});
}

// A transport looks up every delivery's earlier attempts (Journal::Attempts):
// a search of both columns of messages_by_transport_id, never a walk of the
// channel's messages (which made a consumer slower with every message).
TEST(SqliteJournalTest, AttemptsSearchTheTransportIdIndex) {
  TempDir dir;
  const std::string path = dir.File("plan.journal");
  ASSERT_TRUE(Journal::Open("sqlite:" + path).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string sql = std::string("EXPLAIN QUERY PLAN SELECT id FROM ") + sqlite::kAttemptsFromWhere +
                          " ORDER BY id LIMIT " + std::to_string(kMaxAttempts);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::string plan;
  while (sqlite3_step(q) == SQLITE_ROW) plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 3))) + "\n";
  sqlite3_finalize(q);
  sqlite3_close(db);
  EXPECT_NE(plan.find("INDEX messages_by_transport_id (channel=? AND <expr>=?)"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
}

// A journal from before v14 gets resolved_by for the messages whose copy
// (or copy of a copy) had ended ok.
TEST(SqliteJournalTest, TheResolutionMigrationBackfillsOkCopies) {
  TempDir dir;
  const std::string path = dir.File("r.journal");
  UlidGenerator ids;
  Message original = NewMessage(ids, 1000, "c", "k");
  original.outcome = Outcome::kFailed;
  Message copy = NewMessage(ids, 1001, "c", "k");
  copy.origin_id = original.id;
  copy.outcome = Outcome::kFailed;
  Message copy_of_copy = NewMessage(ids, 1002, "c", "k");
  copy_of_copy.origin_id = copy.id;
  copy_of_copy.outcome = Outcome::kOk;
  Message unresolved = NewMessage(ids, 1003, "c", "k2");
  unresolved.outcome = Outcome::kFailed;
  {
    auto j = Journal::Open("sqlite:" + path);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ASSERT_TRUE((*j)->Write({.messages = {original, copy, copy_of_copy, unresolved}}, false).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX messages_unresolved;"
                         "ALTER TABLE messages DROP COLUMN resolved_by;"
                         "DROP INDEX messages_by_transport_id;"
                         "DELETE FROM schema_migrations WHERE version >= 14;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  auto j = Journal::Open("sqlite:" + path);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  for (const Message* m : {&original, &copy}) {
    auto got = (*j)->Get(m->id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->message.resolved_by, copy_of_copy.id);
  }
  auto open = (*j)->List({.filter = "outcome = failed and not resolved"});
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open->messages.size(), 1u);
  EXPECT_EQ(open->messages[0].id, unresolved.id);
}

// Schema v13 leaves a message that is its own correlation out of the
// correlation index; a correlation filter searches that index and the id
// index, never the table.
TEST(SqliteJournalTest, CorrelationFiltersSearchTheCorrelationAndIdIndexes) {
  TempDir dir;
  const std::string path = dir.File("c.journal");
  auto j = Journal::Open("sqlite:" + path);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  UlidGenerator ids;
  WriteBatch b;
  for (int i = 0; i < 4; ++i) {
    Message m = NewMessage(ids, 1000 + i, "c", "k");
    m.correlation_id = i < 2 ? m.id : b.messages[0].id;  // two roots, two effects of the first
    b.messages.push_back(m);
  }
  ASSERT_TRUE((*j)->Write(b, false).ok());

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const std::string root = b.messages[0].id;
  const std::vector<std::string> filters = {"correlation = " + root, "correlation in (" + root + ", x)",
                                            "correlation = " + root + " and recorded > 2026-01-01"};
  for (const std::string& f : filters) {
    const std::string plan = PlanOf(db, f);
    EXPECT_NE(plan.find("INDEX messages_by_correlation (correlation_id=?)"), std::string::npos)
        << f << "\n" << plan;
    EXPECT_NE(plan.find("INDEX sqlite_autoindex_messages_1 (id=?)"), std::string::npos) << f << "\n" << plan;
    EXPECT_EQ(plan.find("SCAN messages"), std::string::npos) << f << "\n" << plan;
  }
  sqlite3_close(db);
}

// A batch the journal refuses (a duplicate id, in the middle of it) leaves
// nothing of itself, and the next batch is found by its keys: a batch's key
// entries take the seqs its rows take. (The PostgreSQL journal keeps a
// repeated id once instead, for batches retried after a lost answer.)
TEST(SqliteJournalTest, ARefusedBatchLeavesNothingAndTheNextIsIndexed) {
  TempDir dir;
  auto j = Journal::Open("sqlite:" + dir.File("r.journal"));
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  UlidGenerator ids;
  auto make = [&](const std::string& key) { return NewMessage(ids, 1000, "a", key); };
  auto write = [&](std::vector<Message> ms) {
    WriteBatch b;
    b.messages = std::move(ms);
    return (*j)->Write(b, false);
  };
  const Message first = make("k1");
  ASSERT_TRUE(write({first, make("k2")}).ok());
  const Message lost_before = make("k3"), lost_after = make("k4");
  EXPECT_FALSE(write({lost_before, first, lost_after}).ok());
  for (const Message& m : {lost_before, lost_after}) {
    EXPECT_EQ((*j)->Get(m.id).status().code(), StatusCode::kNotFound) << m.id;
  }
  const Message next = make("k5");
  ASSERT_TRUE(write({make("k6"), next}).ok());
  const std::vector<std::pair<std::string, std::string>> lookups = {
      {"k1", first.id}, {"k5", next.id}, {"k3", ""}, {"k4", ""}};
  for (const auto& [key, want] : lookups) {
    auto page = (*j)->List({.filter = "key = " + key});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    ASSERT_EQ(page->messages.size(), want.empty() ? 0u : 1u) << key;
    if (!want.empty()) {
      EXPECT_EQ(page->messages[0].id, want) << key;
    }
  }
  auto all = (*j)->List({.filter = "channel = a"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->messages.size(), 4u);
}

// A journal at schema v8 (the outcome index over every row, job items
// without their message's seq, indexed by state, key entries with the
// message id) migrates to the current version, and a job it was running
// goes on: its items are claimed with their messages (through v10's index of
// pending items); its messages are found by key (through v12's entries).
TEST(SqliteJournalTest, AVersion8JournalMigratesAndItsJobsGoOn) {
  TempDir dir;
  const std::string path = dir.File("m.journal");
  UlidGenerator ids;
  std::vector<Message> sent;
  std::string job_id;
  {
    auto j = Journal::Open("sqlite:" + path);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    WriteBatch b;
    for (int i = 0; i < 4; ++i) {
      Message m = NewMessage(ids, 1000 + i, "c", "k" + std::to_string(i));
      m.payload = "p" + std::to_string(i);
      m.outcome = i == 2 ? Outcome::kFailed : Outcome::kOk;
      if (i < 2) m.correlation_id = sent.empty() ? m.id : sent[0].id;  // a root and its effect
      sent.push_back(m);
      b.messages.push_back(m);
    }
    ASSERT_TRUE((*j)->Write(b, false).ok());
    auto job = (*j)->jobs().CreateJob({.filter = "channel = c"}, "");
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    job_id = job->id;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP INDEX messages_by_outcome;"
                         "CREATE INDEX messages_by_outcome ON messages (outcome, id);"
                         "ALTER TABLE job_items DROP COLUMN message_seq;"
                         "DROP INDEX job_items_pending;"
                         "CREATE INDEX job_items_by_state ON job_items (job_id, state, seq);"
                         "ALTER TABLE jobs DROP COLUMN solo_by;"
                         "ALTER TABLE jobs DROP COLUMN solo_first;"
                         "ALTER TABLE jobs DROP COLUMN solo_last;"
                         "ALTER TABLE jobs DROP COLUMN solo_lease_until;"
                         "DROP TABLE message_keys;"
                         "CREATE TABLE message_keys (run INTEGER NOT NULL, message_key TEXT NOT NULL,"
                         "  id TEXT NOT NULL, seq INTEGER NOT NULL,"
                         "  PRIMARY KEY (run, message_key, id)) WITHOUT ROWID;"
                         "INSERT INTO message_keys SELECT 0, message_key, id, seq FROM messages;"
                         "DROP INDEX messages_by_correlation;"
                         "CREATE INDEX messages_by_correlation ON messages (correlation_id)"
                         "  WHERE correlation_id IS NOT NULL;"
                         "DROP INDEX messages_by_transport_id;"
                         "DROP INDEX messages_unresolved;"
                         "ALTER TABLE messages DROP COLUMN resolved_by;"
                         "DELETE FROM schema_migrations WHERE version >= 9;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto j = Journal::Open("sqlite:" + path);
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ((*j)->SchemaVersion(), 15);
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(CountOf(db, "SELECT count(*) FROM pragma_table_info('message_keys') WHERE name = 'id'"), 0)
      << "v12 drops the id from the key entries";
  const std::string correlation_index =
      "SELECT count(*) FROM sqlite_schema WHERE name = 'messages_by_correlation' AND sql LIKE '%WHERE " +
      std::string(sqlite::kCorrelationIndexCondition) + "'";
  EXPECT_EQ(CountOf(db, correlation_index.c_str()), 1)
      << "v13 leaves the messages that are their own correlation out of the index";
  sqlite3_close(db);
  auto conversation = (*j)->List({.filter = "correlation = " + sent[0].id});
  ASSERT_TRUE(conversation.ok()) << conversation.status().ToString();
  EXPECT_EQ(conversation->messages.size(), 2u) << "the root and its effect";
  Message later;
  later.id = ids.Next(2000);
  later.channel = "c";
  later.key = "k-after";
  ASSERT_TRUE((*j)->Write({.messages = {later}}, false).ok()) << "a message written after the migration";
  sent.push_back(later);
  for (const Message& m : sent) {
    auto by_key = (*j)->List({.filter = "key = " + m.key});
    ASSERT_TRUE(by_key.ok()) << by_key.status().ToString();
    ASSERT_EQ(by_key->messages.size(), 1u) << m.key;
    EXPECT_EQ(by_key->messages[0].id, m.id);
  }
  auto items = (*j)->jobs().ClaimItems(job_id, {.instance = "x", .max = 10});
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*items)[i].message.payload, sent[i].payload);
  auto failed = (*j)->List({.filter = "outcome = failed"});
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->messages.size(), 1u);
  EXPECT_EQ(failed->messages[0].id, sent[2].id);
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(PlanOf(db, "outcome = failed").find("INDEX messages_by_outcome"), std::string::npos);
  sqlite3_close(db);
}

}  // namespace
}  // namespace reprise
