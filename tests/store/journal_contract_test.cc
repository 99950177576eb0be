// The journal's contract: every test here runs against both backends (SQLite
// and a real PostgreSQL server that the test process starts), so any
// difference in behaviour between them is a failing test. Backend-specific
// tests live in tests/store/sqlite/ and tests/store/postgres/.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "reprise/base/clock.h"
#include "reprise/base/ulid.h"
#include "reprise/store/audit.h"
#include "reprise/store/filter.h"
#include "reprise/store/flow.h"
#include "reprise/store/instance.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "support/postgres_server.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using filter::kMaxFilterDepth;
using filter::kMaxFilterLength;
using filter::Parse;

using testing::TempDir;

// Opens a fresh journal of the backend named by the test parameter.
class ContractBase : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + dir_.File("test.journal");
    } else {
      auto server = testing::PostgresServer::Shared();
      ASSERT_TRUE(server.ok()) << server.status().ToString();
      auto url = (*server)->NewJournalUrl();
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      url_ = *url;
      libpq_url_ = *url;
      // postgresql-insert, postgresql-pipeline: the other ways of appending.
      if (size_t dash = GetParam().find('-'); dash != std::string::npos) {
        url_ += "&reprise_append=" + GetParam().substr(dash + 1);
      }
    }
    auto j = Journal::Open(url_);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
  }

  // SQL straight to the backend, behind the journal's back.
  Status RawSql(const std::string& sql) {
    if (GetParam() == "sqlite") {
      sqlite3* db = nullptr;
      if (sqlite3_open(dir_.File("test.journal").c_str(), &db) != SQLITE_OK) return Internal("open");
      char* err = nullptr;
      int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      std::string msg = err ? err : "";
      sqlite3_free(err);
      sqlite3_close(db);
      return rc == SQLITE_OK ? Status::Ok() : Internal(msg);
    }
    PGconn* c = PQconnectdb(libpq_url_.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? Status::Ok() : Internal(msg);
  }

  TempDir dir_;
  std::string url_;
  std::string libpq_url_;  // url_ without reprise's own parameters
  std::unique_ptr<Journal> journal_;
};

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

class JournalContract : public ContractBase {
 protected:
  // A message of channel "a", key "k", recorded at `us`.
  Message MakeAt(int64_t us) {
    Message m = Make("a", "k");
    m.recorded_at_us = us;
    m.id = ids_.Next(us / 1000);
    return m;
  }
  Message Make(std::string channel, std::string key, Outcome outcome = Outcome::kOk,
               std::string payload = "{}") {
    Message m;
    int64_t now = NowUs();
    m.id = ids_.Next(now / 1000);
    m.recorded_at_us = now;
    m.channel = std::move(channel);
    m.key = std::move(key);
    m.outcome = outcome;
    m.payload = std::move(payload);
    m.content_type = "application/json";
    if (outcome == Outcome::kFailed) m.error = "downstream timeout";
    return m;
  }

  void Write(std::vector<Message> ms) {
    WriteBatch b;
    b.messages = std::move(ms);
    Status st = journal_->Write(b, false);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  UlidGenerator ids_;
};

TEST_P(JournalContract, WritesAndReadsBackEveryField) {
  Message m = Make("payments.received", "account:42", Outcome::kFailed,
                   std::string("{\"amount\":\"12.5\"}\0tail", 23));
  m.direction = Direction::kIn;
  m.correlation_id = "corr-1";
  m.causation_id = "cause-1";
  m.headers = {{"tenant", "acme"}, {"trace", "abc"}};
  m.attempt = 3;
  m.origin_id = "origin-1";
  m.job_id = "17";
  m.flow_variant = "v2";
  Write({m});

  auto got = journal_->Get(m.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const Message& r = got->message;
  EXPECT_EQ(r.id, m.id);
  EXPECT_EQ(r.direction, Direction::kIn);
  EXPECT_EQ(r.channel, m.channel);
  EXPECT_EQ(r.key, m.key);
  EXPECT_EQ(r.correlation_id, "corr-1");
  EXPECT_EQ(r.causation_id, "cause-1");
  EXPECT_EQ(r.headers, m.headers);
  EXPECT_EQ(r.payload, m.payload);  // binary-safe, embedded NUL included
  EXPECT_EQ(r.payload_size, m.payload.size());
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.recorded_at_us, m.recorded_at_us);
  EXPECT_EQ(r.outcome, Outcome::kFailed);
  EXPECT_EQ(r.error, "downstream timeout");
  EXPECT_EQ(r.attempt, 3u);
  EXPECT_EQ(r.origin_id, "origin-1");
  EXPECT_EQ(r.job_id, "17");
  EXPECT_EQ(r.flow_variant, "v2");
}

// Resolution is kept when the journal records an ok: through an outcome
// update or a message written ok, for a copy, a copy of a copy (which
// resolves the original too) and a re-derived output (its supersedes
// header). The first resolution stays.
TEST_P(JournalContract, AnOkCopyResolvesItsOriginalsUpTheChain) {
  Message original = Make("a", "k", Outcome::kFailed);
  Message other = Make("a", "k2", Outcome::kFailed);
  Write({original, other});
  Message copy = Make("a", "k", Outcome::kFailed);
  copy.origin_id = original.id;
  Message copy_of_copy = Make("a", "k", Outcome::kPending);
  copy_of_copy.origin_id = copy.id;
  Write({copy, copy_of_copy});
  auto count = [&](const std::string& f) {
    auto rows = journal_->Count(f, "");
    EXPECT_TRUE(rows.ok()) << f << ": " << rows.status().ToString();
    return rows.ok() && !rows->empty() ? rows->front().count : 0;
  };
  EXPECT_EQ(count("outcome = failed and not resolved"), 3u) << "a failed copy resolves nothing";

  WriteBatch ok;
  ok.outcomes.push_back({.id = copy_of_copy.id, .outcome = Outcome::kOk});
  ASSERT_TRUE(journal_->Write(ok, false).ok());
  for (const Message* m : {&original, &copy}) {
    auto got = journal_->Get(m->id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->message.resolved_by, copy_of_copy.id) << m->id;
  }
  EXPECT_EQ(count("outcome = failed and not resolved"), 1u);
  EXPECT_EQ(count("outcome = failed and resolved = false"), 1u);
  EXPECT_EQ(count("resolved"), 2u);
  EXPECT_EQ(count("resolved != false"), 2u);
  EXPECT_EQ(count("not (resolved = false)"), 2u);
  auto open = journal_->List({.filter = "outcome = failed and not resolved"});
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open->messages.size(), 1u);
  EXPECT_EQ(open->messages[0].id, other.id);
  EXPECT_TRUE(open->messages[0].resolved_by.empty());

  Message rederived = Make("a", "k2", Outcome::kOk);
  rederived.headers = {{"reprise-supersedes", other.id}};
  Message later_copy = Make("a", "k", Outcome::kOk);
  later_copy.origin_id = original.id;
  Write({rederived, later_copy});
  EXPECT_EQ(journal_->Get(other.id)->message.resolved_by, rederived.id);
  EXPECT_EQ(journal_->Get(original.id)->message.resolved_by, copy_of_copy.id) << "the first resolution stays";
  EXPECT_EQ(count("outcome = failed and not resolved"), 0u);
  auto grouped = journal_->Count("outcome = failed", "resolved");
  ASSERT_TRUE(grouped.ok()) << grouped.status().ToString();
  ASSERT_EQ(grouped->size(), 1u);
  EXPECT_EQ(grouped->front().group, "true");

  auto channels = journal_->Channels();
  ASSERT_TRUE(channels.ok());
  ASSERT_EQ(channels->size(), 1u);
  EXPECT_EQ(channels->front().failed, 3u);
  EXPECT_EQ(channels->front().unresolved, 0u);
}

TEST_P(JournalContract, UnknownIdIsNotFoundAndNamesTheId) {
  auto got = journal_->Get("01JD0000000000000000000000");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("01JD0000000000000000000000"), std::string::npos);
}

TEST_P(JournalContract, KeysetPagingVisitsEveryMatchOnceNewestFirst) {
  std::vector<Message> all;
  for (int i = 0; i < 25; ++i) {
    all.push_back(Make(i % 2 ? "a" : "b", "k" + std::to_string(i % 3),
                       i % 5 == 0 ? Outcome::kFailed : Outcome::kOk));
  }
  Write(all);
  std::vector<std::string> seen;
  ListQuery q{.filter = "channel = a", .page_size = 4};
  for (int pages = 0; pages < 20; ++pages) {
    auto page = journal_->List(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (auto& m : page->messages) {
      EXPECT_EQ(m.channel, "a");
      EXPECT_TRUE(m.payload.empty()) << "lists leave payloads out unless asked";
      EXPECT_EQ(m.payload_size, 2u);
      seen.push_back(m.id);
    }
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  std::vector<std::string> expected;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->channel == "a") expected.push_back(it->id);
  }
  EXPECT_EQ(seen, expected);
}

TEST_P(JournalContract, OldestFirstAndPayloadOnRequest) {
  Write({Make("a", "k", Outcome::kOk, "first"), Make("a", "k", Outcome::kOk, "second")});
  auto page = journal_->List({.page_size = 10, .with_payload = true, .oldest_first = true});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_EQ(page->messages[0].payload, "first");
  EXPECT_EQ(page->messages[1].payload, "second");
}

TEST_P(JournalContract, BadFilterAndBadPageTokenAreInvalidArgument) {
  auto bad = journal_->List({.filter = "chanel = x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  auto token = journal_->List({.page_token = "not-a-token"});
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(JournalContract, LineageLinksCausesEffectsAndCopies) {
  Message root = Make("payments.received", "account:1");
  Message effect = Make("balance.updated", "account:1");
  effect.causation_id = root.id;
  effect.direction = Direction::kOut;
  Message grandchild = Make("audit.written", "account:1");
  grandchild.causation_id = effect.id;
  Message copy = Make("balance.updated", "account:1");
  copy.origin_id = effect.id;
  copy.job_id = "3";
  Write({root, effect, grandchild, copy});

  auto l = journal_->Get(effect.id);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->causes.size(), 1u);
  EXPECT_EQ(l->causes[0].id, root.id);
  ASSERT_EQ(l->effects.size(), 1u);
  EXPECT_EQ(l->effects[0].id, grandchild.id);
  ASSERT_EQ(l->copies.size(), 1u);
  EXPECT_EQ(l->copies[0].id, copy.id);

  auto leaf = journal_->Get(grandchild.id);
  ASSERT_TRUE(leaf.ok());
  ASSERT_EQ(leaf->causes.size(), 2u);  // parent first, then its parent
  EXPECT_EQ(leaf->causes[0].id, effect.id);
  EXPECT_EQ(leaf->causes[1].id, root.id);
}

// A conversation's first message is its own correlation (the agent records
// every inbound message so); a filter on the correlation finds it with what
// it caused, whichever indexes the backend keeps (SQLite's v13 leaves such
// messages out of the correlation index).
TEST_P(JournalContract, CorrelationFindsTheRootWithWhatItCaused) {
  Message root = Make("payments.received", "account:1");
  root.correlation_id = root.id;
  Message effect = Make("balance.updated", "account:1");
  effect.correlation_id = root.id;
  effect.causation_id = root.id;
  Message other = Make("payments.received", "account:2");
  other.correlation_id = other.id;
  Message unrelated = Make("metrics", "m");  // no correlation
  Write({root, effect, other, unrelated});

  auto names = [&](const std::string& filter) {
    auto page = journal_->List({.filter = filter, .oldest_first = true});
    EXPECT_TRUE(page.ok()) << filter << ": " << page.status().ToString();
    std::string out;
    if (!page.ok()) return out;
    for (const Message& m : page->messages) {
      out += m.id == root.id ? "R" : m.id == effect.id ? "E" : m.id == other.id ? "O" : "U";
    }
    return out;
  };
  EXPECT_EQ(names("correlation = " + root.id), "RE");
  EXPECT_EQ(names("correlation = " + other.id), "O");
  EXPECT_EQ(names("correlation = " + effect.id), "");  // an id, not a correlation
  EXPECT_EQ(names("correlation = " + unrelated.id), "");  // its own id, but no correlation
  EXPECT_EQ(names("not correlation = " + unrelated.id), "REOU");
  EXPECT_EQ(names("correlation in (" + root.id + ", " + other.id + ")"), "REO");
  EXPECT_EQ(names("correlation in (" + effect.id + ", " + other.id + ")"), "O");
  EXPECT_EQ(names("not correlation = " + root.id), "OU");
  EXPECT_EQ(names("correlation != " + root.id), "OU");
  EXPECT_EQ(names("correlation = " + root.id + " and channel = balance.updated"), "E");
  EXPECT_EQ(names("correlation = " + root.id + " or key = m"), "REU");
}

TEST_P(JournalContract, OutcomeUpdatesChangeOnlyTheOutcome) {
  Message m = Make("a", "k", Outcome::kPending, "payload");
  Write({m});
  WriteBatch b;
  b.outcomes.push_back({.id = m.id, .outcome = Outcome::kFailed, .error = "boom"});
  ASSERT_TRUE(journal_->Write(b, false).ok());
  auto got = journal_->Get(m.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->message.outcome, Outcome::kFailed);
  EXPECT_EQ(got->message.error, "boom");
  EXPECT_EQ(got->message.payload, "payload");
}

TEST_P(JournalContract, CountsGroupedByField) {
  Write({Make("a", "k1", Outcome::kFailed), Make("a", "k2"), Make("b", "k1", Outcome::kFailed),
         Make("a", "k1")});
  auto total = journal_->Count("", "");
  ASSERT_TRUE(total.ok());
  ASSERT_EQ(total->size(), 1u);
  EXPECT_EQ(total->front().count, 4u);

  auto by = journal_->Count("outcome = failed", "channel");
  ASSERT_TRUE(by.ok()) << by.status().ToString();
  ASSERT_EQ(by->size(), 2u);
  EXPECT_EQ((*by)[0].count + (*by)[1].count, 2u);

  auto by_outcome = journal_->Count("channel = a", "outcome");
  ASSERT_TRUE(by_outcome.ok());
  ASSERT_EQ(by_outcome->size(), 2u);
  EXPECT_EQ((*by_outcome)[0].group, "ok");  // largest group first, readable names
  EXPECT_EQ((*by_outcome)[0].count, 2u);

  auto bad = journal_->Count("", "chanel");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(JournalContract, ChannelsWithCounts) {
  Message out = Make("balance.updated", "k", Outcome::kFailed);
  out.direction = Direction::kOut;
  Write({Make("payments.received", "k"), Make("payments.received", "k"), out});
  auto ch = journal_->Channels();
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->size(), 2u);
  EXPECT_EQ((*ch)[0].channel, "balance.updated");
  EXPECT_EQ((*ch)[0].direction, Direction::kOut);
  EXPECT_EQ((*ch)[0].failed, 1u);
  EXPECT_EQ((*ch)[1].messages, 2u);
}

TEST_P(JournalContract, AttemptsOfADeliveryByChannelAndTransportId) {
  Message first = Make("payments.received", "k", Outcome::kFailed);
  first.headers[std::string(kTransportIdHeader)] = "m-1";
  Message other_channel = Make("refunds.received", "k");
  other_channel.headers[std::string(kTransportIdHeader)] = "m-1";
  Message other_id = Make("payments.received", "k");
  other_id.headers[std::string(kTransportIdHeader)] = "m-2";
  Message plain = Make("payments.received", "k");
  plain.headers["message_id"] = "m-1";  // not the transport id header
  Message second = Make("payments.received", "k");
  second.headers[std::string(kTransportIdHeader)] = "m-1";
  second.attempt = 2;
  second.origin_id = first.id;
  Write({first, other_channel, other_id, plain, second});

  auto attempts = journal_->Attempts("payments.received", "m-1");
  ASSERT_TRUE(attempts.ok()) << attempts.status().ToString();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].id, first.id);
  EXPECT_EQ((*attempts)[0].outcome, Outcome::kFailed);
  EXPECT_EQ((*attempts)[1].id, second.id);
  EXPECT_EQ((*attempts)[1].attempt, 2u);
  EXPECT_EQ((*attempts)[1].origin_id, first.id);
  auto none = journal_->Attempts("payments.received", "m-3");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(JournalContract, ReopenKeepsDataAndSchemaVersion) {
  Message m = Make("a", "k");
  Write({m});
  journal_.reset();
  auto j = Journal::Open(url_);
  ASSERT_TRUE(j.ok());
  // SQLite's v11 (solo claims), v12 (key entries without the id) and v13
  // (roots out of the correlation index) have no PostgreSQL counterpart.
  EXPECT_EQ((*j)->SchemaVersion(), GetParam() == "sqlite" ? 15 : 12);
  EXPECT_TRUE((*j)->Get(m.id).ok());
}

TEST_P(JournalContract, RefusesAJournalFromANewerVersion) {
  journal_.reset();
  Status raw = RawSql("INSERT INTO schema_migrations VALUES (99, 0)");
  ASSERT_TRUE(raw.ok()) << raw.ToString();
  auto j = Journal::Open(url_);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(j.status().message().find("newer"), std::string::npos);
}

TEST_P(JournalContract, RetentionDropsWholeDaysBeforeTheCutoff) {
  constexpr int64_t kDayUs = 86400LL * 1000 * 1000;
  const int64_t day1 = 1795132800000000;  // 2026-11-20T00:00:00Z
  auto at = [&](int64_t us) { return MakeAt(us); };
  // Three messages on day 1, two on day 2, one now.
  Write({at(day1 + 1), at(day1 + kDayUs / 2), at(day1 + kDayUs - 1), at(day1 + kDayUs),
         at(day1 + kDayUs + 5), Make("a", "k")});
  // The cutoff falls inside day 2: day 1 goes, day 2 stays whole.
  auto dropped = journal_->DropBefore(day1 + kDayUs + kDayUs / 2);
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(*dropped, 3u);
  EXPECT_EQ(journal_->Count("", "")->front().count, 3u);
  EXPECT_EQ(journal_->Count("recorded < 2026-11-21", "")->front().count, 0u);
  // Nothing left before the cutoff: nothing more goes.
  EXPECT_EQ(*journal_->DropBefore(day1 + kDayUs), 0u);
  // Writing into a day that was dropped works again.
  Write({at(day1 + 7)});
  EXPECT_EQ(journal_->Count("", "")->front().count, 4u);
  EXPECT_EQ(*journal_->DropBefore(day1 + 2 * kDayUs), 3u);
  EXPECT_EQ(journal_->Count("", "")->front().count, 1u);
}

// Retention's steps: SQLite removes at most the step's count of the oldest
// rows before the cutoff; PostgreSQL drops whole days that end by it.
TEST_P(JournalContract, RetentionRemovesTheOldestInBoundedStepsAndReportsTheExtent) {
  constexpr int64_t kDayUs = 86400LL * 1000 * 1000;
  const int64_t day1 = 1795132800000000;  // 2026-11-20T00:00:00Z
  auto at = [&](int64_t us) { return MakeAt(us); };
  auto none = journal_->Extent();
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->oldest_us, 0);
  EXPECT_EQ(*journal_->RemoveOldest(NowUs(), 10), 0u) << "an empty journal";
  // Three messages on day 1, one on day 2, one now.
  Write({at(day1 + 1), at(day1 + 2), at(day1 + 3), at(day1 + kDayUs + 1), Make("a", "k")});
  auto extent = journal_->Extent();
  ASSERT_TRUE(extent.ok()) << extent.status().ToString();
  EXPECT_EQ(extent->oldest_us, day1 + 1);
  EXPECT_GT(extent->bytes, 0u);
  EXPECT_EQ(*journal_->RemoveOldest(day1 + 1, 10), 0u) << "nothing before the cutoff";

  const bool sqlite = GetParam() == "sqlite";
  const int64_t cutoff = day1 + kDayUs + kDayUs / 2;
  uint64_t removed = 0;
  int steps = 0;
  for (;;) {
    auto n = journal_->RemoveOldest(cutoff, 2);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    if (sqlite) {
      EXPECT_LE(*n, 2u) << "a step is bounded";
    }
    removed += *n;
    ++steps;
  }
  // SQLite: all four before the cutoff, two at a time. PostgreSQL: day 1
  // only, as day 2 is partly after the cutoff.
  EXPECT_EQ(removed, sqlite ? 4u : 3u);
  EXPECT_EQ(steps, sqlite ? 2 : 1);
  EXPECT_EQ(journal_->Count("", "")->front().count, sqlite ? 1u : 2u);
  extent = journal_->Extent();
  ASSERT_TRUE(extent.ok());
  if (sqlite) {
    EXPECT_GT(extent->oldest_us, cutoff);
  } else {
    EXPECT_EQ(extent->oldest_us, day1 + kDayUs + 1);
  }
  // The newest message stays whatever the cutoff (SQLite's seqs never start over).
  if (sqlite) {
    EXPECT_EQ(*journal_->RemoveOldest(NowUs() + kDayUs, 10), 0u);
    Write({Make("a", "k")});
    EXPECT_EQ(journal_->Count("", "")->front().count, 2u);
  }
}

class AuditContract : public ContractBase {
 protected:
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
  int64_t now_ = 1700000000000000;
};

TEST_P(AuditContract, AppendsAndListsNewestFirstWithFilters) {
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

TEST_P(AuditContract, PagesWithAToken) {
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

TEST_P(AuditContract, RecordsCannotBeChangedOrDeletedEvenWithSql) {
  Append("StartReflow", "alice");
  EXPECT_FALSE(RawSql("UPDATE audit SET who = 'mallory'").ok());
  EXPECT_FALSE(RawSql("DELETE FROM audit").ok());
  auto all = journal_->audit().List({});
  ASSERT_EQ(all->records.size(), 1u);
  EXPECT_EQ(all->records[0].who, "alice");
}

class FlowContract : public ContractBase {
 protected:
  void SetUp() override {
    ContractBase::SetUp();
    if (HasFatalFailure()) return;
    auto f = flows().Declare("ledger.rounding", {"v1", "v2"}, "v1");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
  }
  FlowStore& flows() { return journal_->flows(); }
};

TEST_P(FlowContract, DeclareCreatesVersionOneWithHistory) {
  auto f = flows().Get("ledger.rounding");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->variants, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(f->default_variant, "v1");
  EXPECT_EQ(f->version, 1);
  EXPECT_EQ(f->rollout.percent, 0);
  auto h = flows().History("ledger.rounding", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].version, 1);
  EXPECT_EQ((*h)[0].who, "code");
  EXPECT_NE((*h)[0].change.find("\"declared\""), std::string::npos);
}

TEST_P(FlowContract, DeclareValidates) {
  EXPECT_EQ(flows().Declare("bad name", {"v1"}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {"v1", "v1"}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {"v1", "v,2"}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {"v1"}, "v2").status().code(), StatusCode::kInvalidArgument);
}

TEST_P(FlowContract, ApplyVersionsEveryChangeWithHistory) {
  auto f = flows().Apply({.flow = "ledger.rounding",
                          .default_variant = "v2",
                          .who = "alice",
                          .reason = "fix rounding"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version, 2);
  EXPECT_EQ(f->default_variant, "v2");
  EXPECT_EQ(f->updated_by, "alice");
  EXPECT_EQ(f->reason, "fix rounding");

  f = flows().Apply({.flow = "ledger.rounding",
                     .assign = {{"account:1", "v1"}, {"account:2", "v2"}},
                     .rollout = FlowRollout{"v2", 25},
                     .who = "bob"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version, 3);
  EXPECT_EQ(f->default_variant, "v2");  // unchanged
  EXPECT_EQ(f->rollout.variant, "v2");
  EXPECT_EQ(f->rollout.percent, 25);
  EXPECT_EQ(f->assignments, 2u);

  f = flows().Apply({.flow = "ledger.rounding", .unassign = {"account:1"}, .who = "bob"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->version, 4);
  EXPECT_EQ(f->assignments, 1u);
  EXPECT_EQ(f->rollout.percent, 25);  // unchanged

  auto h = flows().History("ledger.rounding", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 4u);
  EXPECT_EQ((*h)[0].version, 4);
  EXPECT_EQ((*h)[0].change, "{\"unassign\":[\"account:1\"]}");
  EXPECT_EQ((*h)[1].change,
            "{\"rollout\":{\"variant\":\"v2\",\"percent\":25},"
            "\"assign\":{\"account:1\":\"v1\",\"account:2\":\"v2\"}}");
  EXPECT_EQ((*h)[2].change, "{\"default\":{\"from\":\"v1\",\"to\":\"v2\"}}");
  EXPECT_EQ((*h)[2].who, "alice");
  EXPECT_EQ((*h)[2].reason, "fix rounding");

  // Percent 0 clears the rollout.
  f = flows().Apply({.flow = "ledger.rounding", .rollout = FlowRollout{"v2", 0}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->rollout.variant, "");
  EXPECT_EQ(f->rollout.percent, 0);
}

TEST_P(FlowContract, ApplyValidatesAndChangesNothingOnError) {
  auto st = flows().Apply({.flow = "ledger.roundin", .default_variant = "v2"}).status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("did you mean \"ledger.rounding\""), std::string::npos) << st.message();

  st = flows().Apply({.flow = "ledger.rounding", .assign = {{"account:1", "v3"}}}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("its variants are v1,v2"), std::string::npos) << st.message();

  st = flows().Apply({.flow = "ledger.rounding", .rollout = FlowRollout{"v2", 101}}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("outside 0..100"), std::string::npos) << st.message();
  st = flows().Apply({.flow = "ledger.rounding", .rollout = FlowRollout{"v2", -1}}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);

  st = flows().Apply({.flow = "ledger.rounding"}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);

  auto f = flows().Get("ledger.rounding");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->version, 1);
  EXPECT_EQ(f->assignments, 0u);
}

TEST_P(FlowContract, DeclareAgainNeverOverwritesOperatorChoices) {
  ASSERT_TRUE(flows()
                  .Apply({.flow = "ledger.rounding",
                          .default_variant = "v2",
                          .assign = {{"account:7", "v1"}},
                          .rollout = FlowRollout{"v2", 50}})
                  .ok());
  auto counter = flows().ChangeCounter();
  ASSERT_TRUE(counter.ok());
  // A restart of the code (here: a new journal handle) declares again, now with v3.
  journal_.reset();
  auto j = Journal::Open(url_);
  ASSERT_TRUE(j.ok());
  journal_ = std::move(*j);
  auto f = flows().Declare("ledger.rounding", {"v1", "v2", "v3"}, "v1");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->variants, (std::vector<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(f->default_variant, "v2");
  EXPECT_EQ(f->rollout.percent, 50);
  EXPECT_EQ(f->assignments, 1u);
  EXPECT_EQ(f->version, 2);
  EXPECT_EQ(*flows().ChangeCounter(), *counter);  // nothing to reload
}

TEST_P(FlowContract, ChangeCounterMovesOnEveryChange) {
  auto c1 = flows().ChangeCounter();
  ASSERT_TRUE(c1.ok());
  ASSERT_TRUE(flows().Declare("other.flow", {"a", "b"}, "a").ok());
  auto c2 = flows().ChangeCounter();
  EXPECT_GT(*c2, *c1);
  ASSERT_TRUE(flows().Apply({.flow = "other.flow", .default_variant = "b"}).ok());
  EXPECT_GT(*flows().ChangeCounter(), *c2);
  auto list = flows().List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "ledger.rounding");
  EXPECT_EQ((*list)[1].name, "other.flow");
}

TEST_P(FlowContract, AssignmentsPageByKey) {
  FlowChange c{.flow = "ledger.rounding"};
  for (int i = 0; i < 25; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "account:%02d", i);
    c.assign[key] = i % 2 ? "v2" : "v1";
  }
  ASSERT_TRUE(flows().Apply(c).ok());
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    auto page = flows().Assignments("ledger.rounding", 10, token);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& a : page->assignments) keys.push_back(a.key);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(keys.size(), 25u);
  EXPECT_EQ(keys.front(), "account:00");
  EXPECT_EQ(keys.back(), "account:24");
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  auto all = flows().AllAssignments("ledger.rounding");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 25u);
  EXPECT_EQ(all->at("account:03"), "v2");
}

class JobContract : public JournalContract {
 protected:
  JobStore& jobs() { return journal_->jobs(); }
  // Five inbound messages of channel a (keys k0, k1), one of channel b and
  // one outbound of channel a, oldest first.
  std::vector<Message> Seed() {
    std::vector<Message> ms;
    for (int i = 0; i < 5; ++i) {
      ms.push_back(Make("a", "k" + std::to_string(i % 2), i == 3 ? Outcome::kFailed : Outcome::kOk,
                        "{\"n\":" + std::to_string(i) + "}"));
    }
    ms.push_back(Make("b", "k0"));
    Message out = Make("a", "k0");
    out.direction = Direction::kOut;
    ms.push_back(out);
    Write(ms);
    return ms;
  }
};

TEST_P(JobContract, PlanCountsWithoutWriting) {
  Seed();
  auto plan = jobs().PlanJob({.filter = "channel = a"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->messages, 5u);
  EXPECT_EQ(plan->keys, 2u);
  EXPECT_EQ(plan->excluded, 1u);  // the outbound one
  ASSERT_EQ(plan->by_channel.size(), 1u);
  EXPECT_EQ(plan->by_channel[0].group, "a");
  ASSERT_EQ(plan->by_outcome.size(), 2u);
  EXPECT_EQ(plan->by_outcome[0].group, "ok");
  EXPECT_EQ(plan->by_outcome[0].count, 4u);
  EXPECT_EQ(plan->by_outcome[1].group, "failed");
  ASSERT_EQ(plan->sample.size(), 5u);
  EXPECT_TRUE(std::is_sorted(plan->sample.begin(), plan->sample.end(),
                             [](const Message& x, const Message& y) { return x.id < y.id; }));
  auto listed = jobs().ListJobs(10);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(jobs().PlanJob({.filter = "chanel = a"}).status().code(), StatusCode::kInvalidArgument);
}

// A reflow leaves resolved messages out and its plan counts them; asked
// to, it includes them. A migration replays every input regardless.
TEST_P(JobContract, AReflowLeavesResolvedMessagesOutUnlessToldOtherwise) {
  auto seeded = Seed();
  Message copy = Make("a", "k1");
  copy.origin_id = seeded[3].id;  // the failed one
  Write({copy});
  auto plan = jobs().PlanJob({.filter = "channel = a and outcome = failed"});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->messages, 0u);
  EXPECT_EQ(plan->resolved, 1u);
  plan = jobs().PlanJob({.filter = "channel = a and outcome = failed", .include_resolved = true});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->messages, 1u);
  EXPECT_EQ(plan->resolved, 0u);
  auto job = jobs().CreateJob({.filter = "channel = a and outcome = failed"}, "");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->total, 0u);
  job = jobs().CreateJob({.filter = "channel = a and outcome = failed", .include_resolved = true}, "");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->total, 1u);
  job = jobs().CreateJob({.kind = std::string(kMigrationJob), .filter = "channel = a and outcome = failed"}, "");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->total, 1u);
}

// State-carrying messages: an account's failed balance followed by an ok
// one is not the newest of its key, so latest-per-key leaves it out (and
// says so), while an account whose newest balance failed is replayed.
TEST_P(JobContract, LatestPerKeySelectsOnlyTheNewestOfEachChannelAndKey) {
  Message stale = Make("balance", "account:1", Outcome::kFailed);
  Message newer = Make("balance", "account:1", Outcome::kOk);
  Message newest_failed = Make("balance", "account:2", Outcome::kFailed);
  Message other_channel = Make("audit", "account:1");  // does not hide account:1's balance
  Write({stale, newest_failed, newer, other_channel});
  auto count = [&](const std::string& f) {
    auto rows = journal_->Count(f, "");
    EXPECT_TRUE(rows.ok()) << f << ": " << rows.status().ToString();
    return rows.ok() && !rows->empty() ? rows->front().count : 0;
  };
  EXPECT_EQ(count("latest"), 3u);
  EXPECT_EQ(count("outcome = failed and latest"), 1u);
  EXPECT_EQ(count("outcome = failed and not latest"), 1u);
  auto page = journal_->List({.filter = "channel = balance and latest"});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->messages.size(), 2u);
  EXPECT_EQ(page->messages[0].id, newest_failed.id);
  EXPECT_EQ(page->messages[1].id, newer.id);

  auto plan = jobs().PlanJob({.filter = "outcome = failed", .latest_per_key = true});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->messages, 1u);
  EXPECT_EQ(plan->older, 1u);
  auto job = jobs().CreateJob({.filter = "outcome = failed", .latest_per_key = true}, "");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_EQ(job->total, 1u);
  auto items = jobs().ClaimItems(job->id, {.instance = "x", .max = 10});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].message.id, newest_failed.id);
  plan = jobs().PlanJob({.filter = "outcome = failed"});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->messages, 2u);
  EXPECT_EQ(plan->older, 0u) << "without latest_per_key nothing is left out as older";
}

// A pinned selection: messages from after the bound never join, and a
// count that differs from the dry run's creates nothing.
TEST_P(JobContract, APinnedSelectionReplaysWhatItsDryRunCountedOrNothing) {
  Seed();
  const std::string bound = UlidLowerBound(NowUs() / 1000 + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  Write({Make("a", "k7", Outcome::kFailed)});  // after the dry run
  auto plan = jobs().PlanJob({.filter = "channel = a", .before_id = bound});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->messages, 5u);
  auto changed = jobs().CreateJob({.filter = "channel = a", .before_id = bound, .expect_total = 4}, "");
  EXPECT_EQ(changed.status().code(), StatusCode::kFailedPrecondition) << changed.status().ToString();
  EXPECT_NE(changed.status().message().find("counted 4, now 5"), std::string::npos) << changed.status().message();
  EXPECT_TRUE(jobs().ListJobs(10)->empty()) << "a refused job leaves nothing behind";
  auto job = jobs().CreateJob({.filter = "channel = a", .before_id = bound, .expect_total = 5}, "");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 5u);
}

TEST_P(JobContract, CreateFixesTheSelectionAndClaimsInOrder) {
  auto seeded = Seed();
  auto job = jobs().CreateJob({.filter = "channel = a", .reason = "replay", .created_by = "alice"},
                              "host:1");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 5u);
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_EQ(job->spec.created_by, "alice");
  EXPECT_EQ(job->instance, "host:1");
  Write({Make("a", "k9")});  // recorded later: never joins

  ASSERT_TRUE(journal_->instances().Register({.id = "x", .service = "s", .host = "h"}).ok());
  auto first = jobs().ClaimItems(job->id, {.instance = "x", .max = 3});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*first)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*first)[i].message.id, seeded[i].id);
    EXPECT_EQ((*first)[i].message.payload, seeded[i].payload);
    EXPECT_FALSE((*first)[i].redelivery);
  }
  // Keys k0 and k1 are in flight: nothing more until those items are done.
  EXPECT_TRUE(jobs().ClaimItems(job->id, {.instance = "x", .max = 10})->empty());
  std::vector<ItemResult> results;
  for (const JobItem& i : *first) results.push_back({.seq = i.seq, .copy_id = "", .outcome = Outcome::kOk});
  ASSERT_TRUE(jobs().CompleteItems(job->id, "x", results).ok());
  auto rest = jobs().ClaimItems(job->id, {.instance = "x", .max = 10});
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].message.id, seeded[4].id);
  EXPECT_TRUE(jobs().ClaimItems(job->id, {.instance = "x", .max = 10})->empty());

  auto unfinished = jobs().UnfinishedJobs();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, job->id);
}

TEST_P(JobContract, SelectionByKeysOriginalsAndLimit) {
  auto seeded = Seed();
  Message copy = Make("a", "k1", Outcome::kFailed);  // failed: seeded[1] stays unresolved
  copy.origin_id = seeded[1].id;
  Write({copy});
  auto job = jobs().CreateJob({.filter = "channel = a", .limit = 2, .keys = {"k1"}, .originals_only = true}, "");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 2u);
  auto items = jobs().ClaimItems(job->id, {.instance = "x", .max = 10});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].message.id, seeded[1].id);
  EXPECT_EQ((*items)[1].message.id, seeded[3].id);
}

TEST_P(JobContract, CompletionCountsEachItemOnce) {
  Seed();
  auto job = jobs().CreateJob({.filter = "channel = a"}, "");
  ASSERT_TRUE(job.ok());
  ASSERT_TRUE(journal_->instances().Register({.id = "x", .service = "s", .host = "h"}).ok());
  auto items = jobs().ClaimItems(job->id, {.instance = "x", .max = 5});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 5u);
  std::vector<ItemResult> results = {{.seq = 1, .copy_id = "c1", .outcome = Outcome::kOk},
                                     {.seq = 2, .copy_id = "c2", .outcome = Outcome::kFailed},
                                     {.seq = 3, .copy_id = "c3", .outcome = Outcome::kOk, .redelivery = true}};
  ASSERT_TRUE(jobs().CompleteItems(job->id, "x", results).ok());
  ASSERT_TRUE(jobs().CompleteItems(job->id, "x", {results[1]}).ok());  // again: not counted twice
  ASSERT_TRUE(jobs().CompleteItems(job->id, "y", {results[0]}).ok());  // not y's: ignored
  auto got = jobs().GetJob(job->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->done, 3u);
  EXPECT_EQ(got->failed, 1u);
  EXPECT_EQ(got->redelivered, 1u);

  // Released items go back to pending and are claimed again.
  ASSERT_TRUE(jobs().ReleaseItems(job->id, "x", {4, 5}).ok());
  auto again = jobs().ClaimItems(job->id, {.instance = "x", .max = 10});
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].seq, 4);

  ASSERT_TRUE(jobs().SetJobState(job->id, JobState::kCompleted, "").ok());
  got = jobs().GetJob(job->id);
  EXPECT_EQ(got->state, JobState::kCompleted);
  EXPECT_GT(got->finished_at_us, 0);
  EXPECT_TRUE(jobs().UnfinishedJobs()->empty());
}

TEST_P(JobContract, RecoveryOfADeadClaimerCompletesFinishedItemsAndMarksOnlyDispatchedOnes) {
  auto seeded = Seed();
  auto job = jobs().CreateJob({.filter = "channel = a"}, "");
  ASSERT_TRUE(job.ok());
  // "dead" never registered (or died): nothing vouches for its claims.
  auto items = jobs().ClaimItems(job->id, {.instance = "dead", .max = 3});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 3u);
  // Before the "crash": item 1's copy finished, item 2's copy is pending,
  // item 3 has no copy.
  Message done = Make("a", "k0", Outcome::kFailed);
  done.origin_id = seeded[0].id;
  done.job_id = job->id;
  Message pending = Make("a", "k1", Outcome::kPending);
  pending.origin_id = seeded[1].id;
  pending.job_id = job->id;
  Write({done, pending});

  auto again = jobs().ClaimItems(job->id, {.instance = "x", .max = 10});
  auto got = jobs().GetJob(job->id);
  EXPECT_EQ(got->done, 1u);
  EXPECT_EQ(got->failed, 1u);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 4u);
  EXPECT_EQ((*again)[0].seq, 2);
  EXPECT_TRUE((*again)[0].redelivery) << "its copy was recorded: it may have reached the handler";
  EXPECT_EQ((*again)[1].seq, 3);
  EXPECT_FALSE((*again)[1].redelivery) << "no copy: it was never dispatched";
  EXPECT_FALSE((*again)[2].redelivery);
  // A mark stays: x (never registered either) abandons them too, without a
  // new copy; item 2 is still one that may have been delivered.
  auto third = jobs().ClaimItems(job->id, {.instance = "y", .max = 10});
  ASSERT_TRUE(third.ok());
  ASSERT_EQ(third->size(), 4u);
  EXPECT_TRUE((*third)[0].redelivery);
  EXPECT_FALSE((*third)[1].redelivery);
}

TEST_P(JobContract, RederiveJobsHaveOneItemPerKeyAndCountChangedKeys) {
  auto seeded = Seed();  // channel a: k0 in (0, 2, 4) and out (6), k1 in (1, 3)
  JobSpec spec{.kind = std::string(kRederiveJob), .filter = "channel = a", .created_by = "alice",
               .service = "s", .deriver = "balance", .dry_run = true};
  auto plan = jobs().PlanJob(spec);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->messages, 2u);  // one per key
  EXPECT_EQ(plan->keys, 2u);
  EXPECT_EQ(plan->excluded, 0u);  // a re-derive reads both directions

  auto job = jobs().CreateJob(spec, "host:1");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->spec.kind, "rederive");
  EXPECT_EQ(job->spec.deriver, "balance");
  EXPECT_TRUE(job->spec.dry_run);
  EXPECT_EQ(job->total, 2u);
  EXPECT_EQ(job->changed, 0u);

  // Each key is carried by its newest match, in selection (id) order; the
  // two keys go to two instances when they share the job.
  for (const char* id : {"x", "y"}) {
    ASSERT_TRUE(journal_->instances().Register({.id = id, .service = "s", .host = "h"}).ok());
  }
  auto on_x = jobs().ClaimItems(job->id, {.instance = "x", .max = 10, .share = 2});
  auto on_y = jobs().ClaimItems(job->id, {.instance = "y", .max = 10, .share = 2});
  ASSERT_TRUE(on_x.ok() && on_y.ok());
  ASSERT_EQ(on_x->size(), 1u);
  ASSERT_EQ(on_y->size(), 1u);
  EXPECT_EQ((*on_x)[0].message.id, seeded[3].id);
  EXPECT_EQ((*on_x)[0].message.key, "k1");
  EXPECT_EQ((*on_y)[0].message.id, seeded[6].id);
  EXPECT_EQ((*on_y)[0].message.key, "k0");

  ASSERT_TRUE(jobs().CompleteItems(job->id, "x", {{.seq = (*on_x)[0].seq, .changed = false}}).ok());
  const ItemResult k0{.seq = (*on_y)[0].seq, .copy_id = "out-1", .changed = true};
  ASSERT_TRUE(jobs().CompleteItems(job->id, "y", {k0}).ok());
  ASSERT_TRUE(jobs().CompleteItems(job->id, "y", {k0}).ok());  // again: counted once
  auto got = jobs().GetJob(job->id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->done, 2u);
  EXPECT_EQ(got->changed, 1u);
  EXPECT_EQ(got->changed_keys, std::vector<std::string>{"k0"});
  auto listed = jobs().ListJobs(10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].spec.deriver, "balance");
  EXPECT_TRUE((*listed)[0].spec.dry_run);
  EXPECT_EQ((*listed)[0].changed, 1u);

  // Keys narrow the selection; a reflow job has none of the re-derive fields.
  spec.keys = {"k1"};
  spec.dry_run = false;
  auto narrowed = jobs().CreateJob(spec, "");
  ASSERT_TRUE(narrowed.ok());
  EXPECT_EQ(narrowed->total, 1u);
  EXPECT_FALSE(narrowed->spec.dry_run);
  auto reflow = jobs().CreateJob({.filter = "channel = a"}, "");
  ASSERT_TRUE(reflow.ok());
  EXPECT_EQ(reflow->spec.kind, "reflow");
  EXPECT_EQ(reflow->spec.deriver, "");
  EXPECT_FALSE(reflow->spec.dry_run);
  EXPECT_EQ(reflow->total, 5u);
}

TEST_P(JobContract, LeasesKeepPerKeyOrderAndExpireIntoMarkedRedeliveries) {
  Seed();  // channel a: k0, k1, k0, k1, k0 (seqs 1..5)
  for (const char* id : {"x", "y"}) {
    ASSERT_TRUE(journal_->instances().Register({.id = id, .service = "s", .host = "h"}).ok());
  }
  auto job = jobs().CreateJob({.filter = "channel = a", .service = "s"}, "x");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->spec.service, "s");
  // Leases long enough for a loaded machine to claim again before x's runs out.
  auto x = jobs().ClaimItems(job->id, {.instance = "x", .max = 1, .lease = std::chrono::milliseconds(1000)});
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  ASSERT_EQ(x->size(), 1u);
  EXPECT_EQ((*x)[0].seq, 1);
  // y takes k1's items, not k0's while x holds k0's first one.
  auto y = jobs().ClaimItems(job->id, {.instance = "y", .max = 10});
  ASSERT_TRUE(y.ok());
  ASSERT_EQ(y->size(), 2u);
  EXPECT_EQ((*y)[0].seq, 2);
  EXPECT_EQ((*y)[1].seq, 4);
  auto renewed = jobs().RenewLease(job->id, "y", std::chrono::milliseconds(10000));
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->state, JobState::kRunning);
  // x dispatched its item (its copy is recorded, still pending), then its
  // lease runs out: y gets k0's items, the first one marked.
  Message pending = Make("a", "k0", Outcome::kPending);
  pending.origin_id = (*x)[0].message.id;
  pending.job_id = job->id;
  Write({pending});
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto z = jobs().ClaimItems(job->id, {.instance = "y", .max = 10});
  ASSERT_TRUE(z.ok());
  ASSERT_EQ(z->size(), 3u);
  EXPECT_EQ((*z)[0].seq, 1);
  EXPECT_TRUE((*z)[0].redelivery);
  EXPECT_FALSE((*z)[1].redelivery);
  ASSERT_TRUE(jobs().CompleteItems(job->id, "x", {{.seq = 1, .copy_id = "", .outcome = Outcome::kOk}}).ok());
  EXPECT_EQ(jobs().GetJob(job->id)->done, 0u) << "x's late result is not x's to give";
  // Final states stay.
  ASSERT_TRUE(jobs().SetJobState(job->id, JobState::kCancelled, "by alice").ok());
  ASSERT_TRUE(jobs().SetJobState(job->id, JobState::kCompleted, "").ok());
  EXPECT_EQ(jobs().GetJob(job->id)->state, JobState::kCancelled);
}

TEST_P(JobContract, AFleetMemberClaimsItsShareOfTheFreeKeysAndALoneOneAWholeBatch) {
  std::vector<Message> ms;
  for (int i = 0; i < 8; ++i) ms.push_back(Make("a", "k" + std::to_string(i % 4)));  // k0 k1 k2 k3 k0 ...
  Write(ms);
  for (const char* id : {"x", "y"}) {
    ASSERT_TRUE(journal_->instances().Register({.id = id, .service = "s", .host = "h"}).ok());
  }
  auto job = jobs().CreateJob({.filter = "channel = a"}, "x");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  auto seqs = [](const std::vector<JobItem>& items) {
    std::vector<int64_t> out;
    for (const JobItem& i : items) out.push_back(i.seq);
    return out;
  };
  // Two instances share the job: x takes half of the four free keys.
  auto x = jobs().ClaimItems(job->id, {.instance = "x", .max = 10, .share = 2});
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  EXPECT_EQ(seqs(*x), (std::vector<int64_t>{1, 2, 5, 6}));
  // y finds two free keys and takes one, leaving the last one to x.
  auto y = jobs().ClaimItems(job->id, {.instance = "y", .max = 10, .share = 2});
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(seqs(*y), (std::vector<int64_t>{3, 7}));
  std::vector<ItemResult> done;
  for (const JobItem& i : *x) done.push_back({.seq = i.seq, .copy_id = "", .outcome = Outcome::kOk});
  ASSERT_TRUE(jobs().CompleteItems(job->id, "x", done).ok());
  // Alone (share 1), a claim takes up to `max` items whatever their keys.
  auto rest = jobs().ClaimItems(job->id, {.instance = "x", .max = 10});
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(seqs(*rest), (std::vector<int64_t>{4, 8}));
}

TEST_P(JobContract, AClaimStopsOnceItsPayloadsReachItsByteBudget) {
  std::vector<Message> ms;
  for (int i = 0; i < 8; ++i) ms.push_back(Make("a", "k" + std::to_string(i), Outcome::kOk, std::string(1000, 'p')));
  Write(ms);
  for (const char* id : {"x", "y"}) {
    ASSERT_TRUE(journal_->instances().Register({.id = id, .service = "s", .host = "h"}).ok());
  }
  auto job = jobs().CreateJob({.filter = "channel = a"}, "x");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  // 1000 + 1000 + 1000 bytes reach 2500: the third item is the last.
  auto alone = jobs().ClaimItems(job->id, {.instance = "x", .max = 10, .max_bytes = 2500});
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  EXPECT_EQ(alone->size(), 3u);
  auto shared = jobs().ClaimItems(job->id, {.instance = "y", .max = 10, .max_bytes = 1500, .share = 2});
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  ASSERT_EQ(shared->size(), 2u);
  EXPECT_EQ((*shared)[0].seq, 4);
  // One item is always taken, however large.
  auto one = jobs().ClaimItems(job->id, {.instance = "x", .max = 10, .max_bytes = 1});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST_P(JobContract, RegistryMarksSilentInstancesGone) {
  InstanceStore& reg = journal_->instances();
  ASSERT_TRUE(reg.Register({.id = "h:1", .service = "ledger", .host = "h", .pid = 1, .address = "127.0.0.1:1"}).ok());
  ASSERT_TRUE(reg.Register({.id = "h:2", .service = "ledger", .host = "h", .pid = 2}).ok());
  ASSERT_TRUE(reg.Register({.id = "h:3", .service = "billing", .host = "h", .pid = 3}).ok());
  // h:1 and h:3 go silent for 400 ms, h:2 heartbeats just before the
  // expiry of those silent for 200 ms: a margin of 200 ms on each side
  // (with 50 and 30 ms, a stalled test thread once expired h:2 as well).
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_TRUE(reg.Heartbeat("h:2").ok());
  auto expired = reg.ExpireStale(std::chrono::milliseconds(200));
  ASSERT_TRUE(expired.ok()) << expired.status().ToString();
  EXPECT_EQ(*expired, 2u);
  auto live = reg.ListInstances("ledger", false);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "h:2");
  auto all = reg.ListInstances("ledger", true);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].id, "h:1");
  EXPECT_EQ((*all)[1].address, "127.0.0.1:1");
  EXPECT_EQ((*all)[1].state, InstanceState::kGone);
  ASSERT_TRUE(reg.Heartbeat("h:1").ok());
  EXPECT_EQ(reg.ListInstances("ledger", false)->size(), 2u) << "a heartbeat brings it back";
  ASSERT_TRUE(reg.MarkGone("h:1", "stopped").ok());
  EXPECT_EQ(reg.ListInstances("", false)->size(), 1u);
  EXPECT_EQ(reg.Heartbeat("nobody").code(), StatusCode::kNotFound);
}

TEST_P(JobContract, UnknownJobsAreNotFound) {
  for (std::string id : {"x", "999", ""}) {
    EXPECT_EQ(jobs().GetJob(id).status().code(), StatusCode::kNotFound) << id;
    // A well-formed id of no job has nothing to claim; a malformed one names no job.
    auto claimed = jobs().ClaimItems(id, {.instance = "x", .max = 1});
    if (id == "999") EXPECT_TRUE(claimed.ok() && claimed->empty());
    else EXPECT_EQ(claimed.status().code(), StatusCode::kNotFound) << id;
    EXPECT_EQ(jobs().SetJobState(id, JobState::kCancelled, "").code(), StatusCode::kNotFound) << id;
  }
  Seed();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(jobs().CreateJob({.filter = "channel = b"}, "").ok());
  auto listed = jobs().ListJobs(2);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_GT(std::stoll((*listed)[0].id), std::stoll((*listed)[1].id));  // newest first
}

// The filter language on the journal's own table, through List and Count:
// the same answers from both backends. Rows in id (= time) order: E D F A B C
// (the same data as filter/compiler_test.cc's SQLite-only tests).
constexpr int64_t kMinuteUs = 60LL * 1000000;
constexpr int64_t kHourUs = 60 * kMinuteUs;

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// "key = x and (key = x or (...))", `chains` levels (as in filter/parser_test.cc).
std::string NestedChains(int chains) {
  if (chains == 0) return "key = x";
  return std::string("key = x ") + (chains % 2 ? "and" : "or") + " (" + NestedChains(chains - 1) +
         ")";
}

// Alternating not and and/or groups, `levels` of each, around `leaf`.
std::string NotChains(int levels, const std::string& leaf) {
  if (levels == 0) return leaf;
  return "not (key = x " + std::string(levels % 2 ? "or" : "and") + " " +
         NotChains(levels - 1, leaf) + ")";
}

// A balanced tree of and/or groups, `depth` levels, with `leaf` everywhere.
std::string Balanced(int depth, const std::string& leaf) {
  if (depth == 0) return leaf;
  std::string sub = Balanced(depth - 1, leaf);
  return "(" + sub + (depth % 2 ? " or " : " and ") + sub + ")";
}

class FilterContract : public ContractBase {
 protected:
  struct Row {
    std::string name;
    Direction direction;
    std::string channel, key, correlation, causation;
    Headers headers;
    std::string payload, content_type;
    int64_t recorded_us;
    Outcome outcome;
    std::string error;
    uint32_t attempt;
    std::string origin, job, variant;
  };

  void SetUp() override {
    ContractBase::SetUp();
    if (HasFatalFailure()) return;
    const int64_t now = NowUs();
    const std::string binary("\x00\xff\x10{", 4);
    const std::vector<Row> rows = {
        {"E", Direction::kIn, "orders.created", "account:420", "", "", {{"Tenant", "ACME"}},
         "not json {", "text/plain", 1795168800000000 /* 2026-11-20T10:00:00Z */, Outcome::kFailed,
         "Connection TIMEOUT", 5, "", "170", "v1"},
        {"D", Direction::kOut, "orders.created", "order:9", "", "", {{"tenant", "acme"}},
         R"({"amount":"150","status":"new","n":null})", "application/json",
         1795391999999999 /* 2026-11-22T23:59:59.999999Z */, Outcome::kSkipped, "", 3, "", "", "v1"},
        {"F", Direction::kIn, "metrics[1]", "k", "", "", {}, "", "",
         1795392000000000 /* 2026-11-23T00:00Z */, Outcome::kOk, "", 1, "", "", ""},
        {"A", Direction::kIn, "payments.received", "account:42", "c1", "",
         {{"tenant", "acme"}, {"x-trace", "t1"}},
         R"({"amount":150,"currency":"EUR","items":[{"sku":"A-1","qty":2}],"active":true,"note":"Hello World"})",
         "application/json", now - 3 * kHourUs, Outcome::kOk, "", 1, "", "", ""},
        {"B", Direction::kIn, "payments.received", "account:7", "c1", "A", {{"tenant", "globex"}},
         R"({"amount":50.5,"currency":"USD","items":[],"active":false})", "application/json",
         now - 90 * kMinuteUs, Outcome::kFailed, "timeout after 30s", 2, "", "", "v2"},
        {"C", Direction::kOut, "payments.settled", "account:42", "c2", "", {}, binary,
         "application/octet-stream", now - 30 * kMinuteUs, Outcome::kPending, "", 1, "A", "17", ""},
    };
    UlidGenerator ulids;
    for (const Row& r : rows) ids_[r.name] = ulids.Next(r.recorded_us / 1000);
    WriteBatch b;
    for (const Row& r : rows) {
      Message m;
      m.id = ids_[r.name];
      names_[m.id] = r.name;
      m.direction = r.direction;
      m.channel = r.channel;
      m.key = r.key;
      m.correlation_id = r.correlation;
      m.causation_id = r.causation.empty() ? "" : ids_[r.causation];
      m.headers = r.headers;
      m.payload = r.payload;
      m.content_type = r.content_type;
      m.recorded_at_us = r.recorded_us;
      m.outcome = r.outcome;
      m.error = r.error;
      m.attempt = r.attempt;
      m.origin_id = r.origin.empty() ? "" : ids_[r.origin];
      m.job_id = r.job;
      m.flow_variant = r.variant;
      b.messages.push_back(std::move(m));
    }
    Status st = journal_->Write(b, false);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // Names of the rows `filter` selects, in id order: "EDFABC" is everything.
  std::string Q(const std::string& filter) {
    auto page = journal_->List({.filter = filter, .page_size = kMaxPageSize, .oldest_first = true});
    if (!page.ok()) return "<" + page.status().message() + ">";
    std::string out;
    for (const Message& m : page->messages) out += names_[m.id];
    return out;
  }

  // "value=count,..." by value, for a group-by field.
  std::string Groups(const std::string& field) {
    auto rows = journal_->Count("", field);
    if (!rows.ok()) return "<" + rows.status().message() + ">";
    std::sort(rows->begin(), rows->end(), [](const CountRow& a, const CountRow& b) { return a.group < b.group; });
    std::string out;
    for (const CountRow& r : *rows) out += (out.empty() ? "" : ",") + r.group + "=" + std::to_string(r.count);
    return out;
  }

  std::map<std::string, std::string> ids_;    // name -> id
  std::map<std::string, std::string> names_;  // id -> name
};

TEST_P(FilterContract, DesignExamples) {
  EXPECT_EQ(Q("channel = \"payments.received\" and outcome = failed and recorded > -2h"), "B");
  EXPECT_EQ(Q("key ~ \"account:4*\" or error ~ \"timeout\""), "EABC");
  EXPECT_EQ(Q("direction = out and payload.amount > 100"), "");  // D's amount is the string "150"
  EXPECT_EQ(Q("direction = in and payload.amount > 100"), "A");
  EXPECT_EQ(Q("outcome in (failed, skipped) and not header.tenant = \"acme\""), "EB");
  EXPECT_EQ(Q("job = 17"), "C");
}

TEST_P(FilterContract, IdsAndLineageFields) {
  EXPECT_EQ(Q("id = " + ids_["A"]), "A");
  EXPECT_EQ(Q("id != " + ids_["A"]), "EDFBC");
  EXPECT_EQ(Q("id > " + ids_["F"]), "ABC");
  EXPECT_EQ(Q("id <= " + ids_["F"]), "EDF");
  EXPECT_EQ(Q("id in (" + ids_["A"] + ", " + ids_["C"] + ")"), "AC");
  EXPECT_EQ(Q("id ~ " + ids_["B"].substr(0, 20) + "*"), "B");
  EXPECT_EQ(Q("id ~ " + ids_["B"].substr(4, 20)), "B");  // contains, any case
  EXPECT_EQ(Q("causation = " + ids_["A"]), "B");
  EXPECT_EQ(Q("origin = " + ids_["A"]), "C");
  EXPECT_EQ(Q("origin != " + ids_["A"]), "EDFAB");
  EXPECT_EQ(Q("origin = \"\""), "EDFAB");
}

TEST_P(FilterContract, Direction) {
  EXPECT_EQ(Q("direction = in"), "EFAB");
  EXPECT_EQ(Q("direction = OUT"), "DC");
  EXPECT_EQ(Q("direction != in"), "DC");
  EXPECT_EQ(Q("direction in (in, out)"), "EDFABC");
  EXPECT_EQ(Q("direction not in (out)"), "EFAB");
}

TEST_P(FilterContract, ChannelAndKey) {
  EXPECT_EQ(Q("channel = payments.received"), "AB");
  EXPECT_EQ(Q("channel != payments.received"), "EDFC");
  EXPECT_EQ(Q("channel ~ \"payments.*\""), "ABC");
  EXPECT_EQ(Q("channel ~ PAYMENTS"), "ABC");       // contains: case-insensitive
  EXPECT_EQ(Q("channel ~ \"Payments.*\""), "");    // glob: case-sensitive
  EXPECT_EQ(Q("channel ~ \"metrics[1]\""), "F");   // contains: [ is plain text
  EXPECT_EQ(Q("channel ~ \"metrics[1]*\""), "F");  // glob: [ is plain text too
  EXPECT_EQ(Q("channel ~ \"metrics?1?\""), "F");
  EXPECT_EQ(Q("channel ~ \"*created\""), "ED");
  EXPECT_EQ(Q("channel ~ \"created\""), "ED");
  EXPECT_EQ(Q("channel ~ \"orders\""), "ED");
  EXPECT_EQ(Q("channel ~ \"orders?\""), "");  // globs are anchored
  EXPECT_EQ(Q("channel in (orders.created, \"metrics[1]\")"), "EDF");
  EXPECT_EQ(Q("channel < p"), "EDF");
  EXPECT_EQ(Q("channel >= payments.s"), "C");
  EXPECT_EQ(Q("channel > payments.received"), "C");
  EXPECT_EQ(Q("channel <= payments.received"), "EDFAB");
  EXPECT_EQ(Q("key = account:42"), "AC");
  EXPECT_EQ(Q("key ~ \"account:4*\""), "EAC");
  EXPECT_EQ(Q("key ~ 42"), "EAC");
  EXPECT_EQ(Q("key != account:42"), "EDFB");
}

TEST_P(FilterContract, OptionalTextTreatsNullAsEmpty) {
  EXPECT_EQ(Q("correlation = c1"), "AB");
  EXPECT_EQ(Q("correlation != c1"), "EDFC");
  EXPECT_EQ(Q("not correlation = c1"), "EDFC");
  EXPECT_EQ(Q("correlation = \"\""), "EDF");
  EXPECT_EQ(Q("correlation != ''"), "ABC");
  EXPECT_EQ(Q("correlation in (c2, \"\")"), "EDFC");
  EXPECT_EQ(Q("correlation not in (c1, c2)"), "EDF");
  EXPECT_EQ(Q("correlation ~ C"), "ABC");
  EXPECT_EQ(Q("not correlation ~ c"), "EDF");
  EXPECT_EQ(Q("correlation < c2"), "EDFAB");
  EXPECT_EQ(Q("correlation >= c2"), "C");
  EXPECT_EQ(Q("job = 17"), "C");
  EXPECT_EQ(Q("job = \"17\""), "C");
  EXPECT_EQ(Q("job ~ 17"), "EC");
  EXPECT_EQ(Q("job in (17, 170)"), "EC");
  EXPECT_EQ(Q("job > 16"), "EC");
  EXPECT_EQ(Q("error ~ timeout"), "EB");
  EXPECT_EQ(Q("error ~ \"timeout*\""), "B");
  EXPECT_EQ(Q("error ~ \"*TIMEOUT\""), "E");
  EXPECT_EQ(Q("error = \"\""), "DFAC");
  EXPECT_EQ(Q("error != \"\""), "EB");
  EXPECT_EQ(Q("not error ~ timeout"), "DFAC");
  EXPECT_EQ(Q("variant = v1"), "ED");
  EXPECT_EQ(Q("variant != v1"), "FABC");
  EXPECT_EQ(Q("variant = ''"), "FAC");
  EXPECT_EQ(Q("content_type ~ json"), "DAB");
  EXPECT_EQ(Q("content_type ~ \"application/*\""), "DABC");
  EXPECT_EQ(Q("content_type = \"\""), "F");
  EXPECT_EQ(Q("not (content_type = application/json or variant = v1)"), "FC");
}

TEST_P(FilterContract, OutcomeAndAttempt) {
  EXPECT_EQ(Q("outcome = failed"), "EB");
  EXPECT_EQ(Q("outcome = Ok"), "FA");
  EXPECT_EQ(Q("outcome = \"pending\""), "C");
  EXPECT_EQ(Q("outcome != failed"), "DFAC");
  EXPECT_EQ(Q("outcome in (failed, skipped)"), "EDB");
  EXPECT_EQ(Q("outcome not in (ok, pending)"), "EDB");
  EXPECT_EQ(Q("attempt = 1"), "FAC");
  EXPECT_EQ(Q("attempt != 1"), "EDB");
  EXPECT_EQ(Q("attempt > 1"), "EDB");
  EXPECT_EQ(Q("attempt >= 3"), "ED");
  EXPECT_EQ(Q("attempt < 2"), "FAC");
  EXPECT_EQ(Q("attempt <= 2"), "FABC");
  EXPECT_EQ(Q("attempt in (2, 5)"), "EB");
  EXPECT_EQ(Q("attempt = \"3\""), "D");
}

TEST_P(FilterContract, Headers) {
  EXPECT_EQ(Q("header.tenant = acme"), "DA");
  EXPECT_EQ(Q("header.tenant != acme"), "EFBC");  // E has "Tenant": header names are exact
  EXPECT_EQ(Q("header.Tenant = ACME"), "E");
  EXPECT_EQ(Q("header.tenant ~ ACME"), "DA");
  EXPECT_EQ(Q("header.tenant ~ \"a*\""), "DA");
  EXPECT_EQ(Q("header.tenant = \"\""), "EFC");
  EXPECT_EQ(Q("header.tenant in (acme, globex)"), "DAB");
  EXPECT_EQ(Q("header.tenant in (acme, \"\")"), "EDFAC");
  EXPECT_EQ(Q("header.tenant > b"), "B");
  EXPECT_EQ(Q("header.x-trace = t1"), "A");
  EXPECT_EQ(Q("header.missing != x"), "EDFABC");
  EXPECT_EQ(Q("not header.tenant = acme"), "EFBC");
}

TEST_P(FilterContract, JsonPayloads) {
  EXPECT_EQ(Q("payload.amount > 100"), "A");
  EXPECT_EQ(Q("payload.amount = 150"), "A");
  EXPECT_EQ(Q("payload.amount = 150.0"), "A");
  EXPECT_EQ(Q("payload.amount < 100"), "B");
  EXPECT_EQ(Q("payload.amount >= 50.5"), "AB");
  EXPECT_EQ(Q("payload.amount <= 50.5"), "B");
  EXPECT_EQ(Q("payload.amount != 150"), "EDFBC");
  EXPECT_EQ(Q("not payload.amount = 150"), "EDFBC");
  EXPECT_EQ(Q("payload.amount in (150, 50.5)"), "AB");
  EXPECT_EQ(Q("payload.amount in (\"150\", 50.5)"), "DAB");
  EXPECT_EQ(Q("payload.amount not in (\"150\", 50.5)"), "EFC");
  EXPECT_EQ(Q("payload.amount = \"150\""), "DA");
  EXPECT_EQ(Q("payload.amount ~ 15"), "DA");
  EXPECT_EQ(Q("payload.currency = EUR"), "A");
  EXPECT_EQ(Q("payload.currency != EUR"), "EDFBC");
  EXPECT_EQ(Q("payload.currency ~ u"), "AB");
  EXPECT_EQ(Q("payload.currency in (EUR, USD)"), "AB");
  EXPECT_EQ(Q("payload.currency < F"), "EDFAC");
  EXPECT_EQ(Q("payload.items.0.sku = A-1"), "A");
  EXPECT_EQ(Q("payload.items[0].sku = \"A-1\""), "A");
  EXPECT_EQ(Q("payload.items[0].qty = 2"), "A");
  EXPECT_EQ(Q("payload.items.5.sku = A-1"), "");
  EXPECT_EQ(Q("payload.active = true"), "A");
  EXPECT_EQ(Q("payload.active = false"), "B");
  EXPECT_EQ(Q("payload.active != true"), "EDFBC");
  EXPECT_EQ(Q("payload.note ~ hello"), "A");
  EXPECT_EQ(Q("payload.note ~ \"Hello*\""), "A");
  EXPECT_EQ(Q("payload.note ~ \"hello*\""), "");
  EXPECT_EQ(Q("payload.status = new"), "D");
  EXPECT_EQ(Q("payload.n = \"\""), "EDFABC");  // JSON null and missing both read as ""
  EXPECT_EQ(Q("payload.items ~ A-1"), "A");    // objects and arrays compare as JSON text
}

TEST_P(FilterContract, NonJsonPayloadsNeverMatchOrFail) {
  EXPECT_EQ(Q("payload.a = \"\""), "EDFABC");
  EXPECT_EQ(Q("payload.a != 1"), "EDFABC");
  EXPECT_EQ(Q("payload.a > 1 or payload.a < 1 or payload.a ~ x"), "");
  EXPECT_EQ(Q("payload.a.b[0] ~ \"*\""), "EDFABC");
}

TEST_P(FilterContract, BooleanLogic) {
  EXPECT_EQ(Q("outcome = failed or outcome = skipped and attempt > 3"), "EB");
  EXPECT_EQ(Q("(outcome = failed or outcome = skipped) and attempt >= 3"), "ED");
  EXPECT_EQ(Q("not (outcome = failed or outcome = skipped)"), "FAC");
  EXPECT_EQ(Q("not not outcome = failed"), "EB");
  EXPECT_EQ(Q("not (origin = " + ids_["A"] + " or correlation = c1)"), "EDF");
  EXPECT_EQ(Q("not (origin = " + ids_["A"] + " and correlation = c2)"), "EDFAB");
}

TEST_P(FilterContract, ValuesNeverReachTheSql) {
  EXPECT_EQ(Q("channel = \"x' OR 1=1 --\""), "");
  EXPECT_EQ(Q("key ~ \"'; DROP TABLE messages; --\""), "");
  EXPECT_EQ(Q("header.tenant = \"') OR 1=1 --\""), "");
  EXPECT_EQ(Q("payload.a$b = 1"), "");
  EXPECT_EQ(Q(""), "EDFABC");  // the table is intact
}

TEST_P(FilterContract, GroupBy) {
  EXPECT_EQ(Groups("outcome"), "failed=2,ok=2,pending=1,skipped=1");
  EXPECT_EQ(Groups("direction"), "in=4,out=2");
  EXPECT_EQ(Groups("channel"),
            "metrics[1]=1,orders.created=2,payments.received=2,payments.settled=1");
  EXPECT_EQ(Groups("key"), "account:42=2,account:420=1,account:7=1,k=1,order:9=1");
  EXPECT_EQ(Groups("job"), "=4,17=1,170=1");
  EXPECT_EQ(Groups("origin"), "=5," + ids_["A"] + "=1");
  EXPECT_EQ(Groups("error"), "=4,Connection TIMEOUT=1,timeout after 30s=1");
  EXPECT_EQ(Groups("correlation"), "=3,c1=2,c2=1");
  EXPECT_EQ(Groups("causation"), "=5," + ids_["A"] + "=1");
  EXPECT_EQ(Groups("attempt"), "1=3,2=1,3=1,5=1");
  EXPECT_EQ(Groups("content_type"),
            "=1,application/json=3,application/octet-stream=1,text/plain=1");
  EXPECT_EQ(Groups("variant"), "=3,v1=2,v2=1");
  EXPECT_EQ(Groups("header.tenant"), "=3,acme=2,globex=1");
  EXPECT_EQ(Groups("payload.currency"), "=4,EUR=1,USD=1");
  EXPECT_EQ(Groups("payload.active"), "=4,false=1,true=1");
  EXPECT_EQ(Groups("Outcome"), "failed=2,ok=2,pending=1,skipped=1");
  EXPECT_EQ(Groups(""), "=6");
  EXPECT_EQ(Groups("chanel"), "<filter: unknown field \"chanel\"; did you mean \"channel\"?>");
  EXPECT_EQ(Groups("id"),
            "<filter: cannot group by id: every message has its own; group by one of channel, key, "
            "outcome, "
            "direction, job, origin, error, correlation, causation, attempt, content_type, "
            "variant, header.NAME, "
            "payload.PATH>");
  EXPECT_NE(Groups("recorded").find("cannot group by recorded"), std::string::npos);
}

TEST_P(FilterContract, RecordedTimes) {
  // A, B and C were recorded 3 h, 90 min and 30 min ago; E, D and F on
  // fixed days in the past.
  EXPECT_EQ(Q("recorded > -2h"), "BC");
  EXPECT_EQ(Q("recorded < -2h"), "EDFA");
  EXPECT_EQ(Q("not recorded >= -2h"), "EDFA");
  EXPECT_EQ(Q("recorded > -31m"), "C");
  EXPECT_EQ(Q("recorded > -45s"), "");
  EXPECT_EQ(Q("recorded > '-2h'"), "BC");
  EXPECT_EQ(Q("recorded = 2026-11-22"), "D");
  EXPECT_EQ(Q("recorded < 2026-11-23"), "ED");
  EXPECT_EQ(Q("recorded <= 2026-11-22"), "ED");
  EXPECT_EQ(Q("recorded < 2026-11-23T00:00:00Z"), "ED");
  EXPECT_EQ(Q("recorded = 2026-11-22T23:59:59Z"), "D");
  EXPECT_EQ(Q("recorded = 2026-11-22T23:59:59.9Z"), "D");
  EXPECT_EQ(Q("recorded = \"2026-11-22T23:59:59.999999Z\""), "D");
  EXPECT_EQ(Q("recorded = 2026-11-22T23:59:59.999998Z"), "");
  EXPECT_EQ(Q("recorded = 2026-11-23T01:00:00+01:00"), "F");
  EXPECT_EQ(Q("recorded = \"2026-11-23 00:00Z\""), "F");
  EXPECT_EQ(Q("recorded >= 2026-11-20 and recorded < 2026-11-21"), "E");
}

TEST_P(FilterContract, EveryFieldAndOperatorRuns) {
  struct Case {
    std::string field;
    std::vector<std::string> values;
  };
  const std::vector<Case> cases = {
      {"id", {"x", "\"\""}},
      {"channel", {"a", "\"a*\""}},
      {"key", {"a", "17"}},
      {"correlation", {"a", "\"\""}},
      {"causation", {"a"}},
      {"origin", {"a"}},
      {"job", {"17"}},
      {"error", {"\"a?\"", "b"}},
      {"variant", {"v1"}},
      {"content_type", {"json"}},
      {"header.h", {"a", "\"\"", "\"*\""}},
      {"payload.a.b[0]", {"1", "-2.5", "a", "\"\"", "\"*\""}},
      {"outcome", {"ok"}},
      {"direction", {"out"}},
      {"attempt", {"2"}},
      {"resolved", {"true", "false"}},
      {"latest", {"true", "false"}},
      {"recorded", {"-2h", "2026-11-23", "2026-11-23T10:00:00.5+01:00"}},
  };
  for (const Case& c : cases) {
    for (const std::string& v : c.values) {
      int ran = 0;
      for (const char* op : {"=", "!=", "<", "<=", ">", ">=", "~", "in"}) {
        std::string cmp =
            c.field + " " + op + " " + (std::string(op) == "in" ? "(" + v + ", " + v + ")" : v);
        if (!Parse(cmp).ok()) continue;  // operator does not apply: tested elsewhere
        ++ran;
        for (const std::string& f : {cmp, "not " + cmp, "not (" + cmp + " or key = a)"}) {
          std::string got = Q(f);
          EXPECT_EQ(got.find('<'), std::string::npos) << f << ": " << got;
        }
      }
      // A field or value that stops parsing fails here instead of being
      // skipped by every operator.
      EXPECT_GE(ran, 2) << c.field << " " << v << " parses with fewer than two operators";
    }
  }
}

TEST_P(FilterContract, LimitsRun) {
  // The deepest and the longest filters the parser accepts must also be SQL
  // that both backends accept: its parser stack and expression depth are bounded.
  const std::string leaf =
      "payload.a.b > 1";  // nullable, and the most nested SQL of any comparison
  EXPECT_EQ(Q(Repeat("not ", kMaxFilterDepth) + leaf), "");  // an even number of nots
  EXPECT_EQ(Q(Repeat("not ", kMaxFilterDepth - 1) + leaf), "EDFABC");
  EXPECT_EQ(Q(Repeat("(", kMaxFilterDepth - 1) + "not " + leaf + Repeat(")", kMaxFilterDepth - 1)),
            "EDFABC");

  std::string chains = NestedChains(kMaxFilterDepth);
  chains.replace(chains.rfind("key = x"), 7, leaf);
  EXPECT_EQ(Q(chains), "");
  // The same with the deep part written first.
  std::string left_deep = leaf;
  for (int i = 0; i < kMaxFilterDepth; ++i)
    left_deep = "(" + left_deep + (i % 2 ? " or" : " and") + " key = x)";
  EXPECT_EQ(Q(left_deep), "");
  ASSERT_TRUE(Parse(NotChains(kMaxFilterDepth / 2, leaf)).ok());
  // key = x is false everywhere: "not (false and ...)" is true, "not (false or y)" is not y.
  EXPECT_EQ(Q(NotChains(kMaxFilterDepth / 2, leaf)), "EDFABC");
  EXPECT_EQ(Q(NotChains(kMaxFilterDepth / 2 - 1, leaf)), "");
  int depth = 1;
  while (Balanced(depth + 1, "payload.a=1").size() <= kMaxFilterLength) ++depth;
  EXPECT_EQ(Q(Balanced(depth, "payload.a=1")), "");
  EXPECT_EQ(Q(Balanced(depth - 1, "not payload.a=1")), "EDFABC");

  std::string longest = "key=a";
  while (longest.size() + 9 <= kMaxFilterLength) longest += " or key=a";
  EXPECT_EQ(Q(longest), "");
  std::string longest_not = "not key=a";
  while (longest_not.size() + 14 <= kMaxFilterLength) longest_not += " and not key=a";
  EXPECT_EQ(Q(longest_not), "EDFABC");
  std::string longest_payload = "payload.a=1";
  while (longest_payload.size() + 15 <= kMaxFilterLength) longest_payload += " or payload.a=1";
  EXPECT_EQ(Q(longest_payload), "");
}

#define REPRISE_BOTH_BACKENDS(fixture) \
  INSTANTIATE_TEST_SUITE_P(Backends, fixture, ::testing::Values("sqlite", "postgresql"), BackendName)
REPRISE_BOTH_BACKENDS(JournalContract);
// Every way the PostgreSQL journal can append (COPY is the default above).
INSTANTIATE_TEST_SUITE_P(PgAppend, JournalContract,
                         ::testing::Values("postgresql-insert", "postgresql-pipeline"), BackendName);
REPRISE_BOTH_BACKENDS(AuditContract);
REPRISE_BOTH_BACKENDS(FlowContract);
REPRISE_BOTH_BACKENDS(JobContract);
REPRISE_BOTH_BACKENDS(FilterContract);

}  // namespace
}  // namespace reprise
