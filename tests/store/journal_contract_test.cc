// The journal's contract: every test here runs against both backends (SQLite
// and a real PostgreSQL server that the test process starts), so any
// difference in behaviour between them is a failing test. Backend-specific
// tests live in sqlite_journal_test.cc and postgres_journal_test.cc.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>

#include "reprise/store/audit.h"
#include "reprise/store/flow.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "reprise/store/ulid.h"
#include "support/postgres_server.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using testing::TempDir;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
    PGconn* c = PQconnectdb(url_.c_str());
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? Status::Ok() : Internal(msg);
  }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<Journal> journal_;
};

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

class JournalContract : public ContractBase {
 protected:
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

TEST_P(JournalContract, ReopenKeepsDataAndSchemaVersion) {
  Message m = Make("a", "k");
  Write({m});
  journal_.reset();
  auto j = Journal::Open(url_);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)->SchemaVersion(), 4);
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

  auto first = jobs().ClaimItems(job->id, 3);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*first)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*first)[i].message.id, seeded[i].id);
    EXPECT_EQ((*first)[i].message.payload, seeded[i].payload);
    EXPECT_FALSE((*first)[i].redelivery);
  }
  auto rest = jobs().ClaimItems(job->id, 10);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[1].message.id, seeded[4].id);
  EXPECT_TRUE(jobs().ClaimItems(job->id, 10)->empty());

  auto unfinished = jobs().UnfinishedJobs();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].id, job->id);
}

TEST_P(JobContract, SelectionByKeysOriginalsAndLimit) {
  auto seeded = Seed();
  Message copy = Make("a", "k1");
  copy.origin_id = seeded[1].id;
  Write({copy});
  auto job = jobs().CreateJob({.filter = "channel = a", .limit = 2, .keys = {"k1"}, .originals_only = true}, "");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->total, 2u);
  auto items = jobs().ClaimItems(job->id, 10);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].message.id, seeded[1].id);
  EXPECT_EQ((*items)[1].message.id, seeded[3].id);
}

TEST_P(JobContract, CompletionCountsEachItemOnce) {
  Seed();
  auto job = jobs().CreateJob({.filter = "channel = a"}, "");
  ASSERT_TRUE(job.ok());
  auto items = jobs().ClaimItems(job->id, 5);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 5u);
  std::vector<ItemResult> results = {{.seq = 1, .copy_id = "c1", .outcome = Outcome::kOk},
                                     {.seq = 2, .copy_id = "c2", .outcome = Outcome::kFailed},
                                     {.seq = 3, .copy_id = "c3", .outcome = Outcome::kOk, .redelivery = true}};
  ASSERT_TRUE(jobs().CompleteItems(job->id, results).ok());
  ASSERT_TRUE(jobs().CompleteItems(job->id, {results[1]}).ok());  // again: not counted twice
  auto got = jobs().GetJob(job->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->done, 3u);
  EXPECT_EQ(got->failed, 1u);
  EXPECT_EQ(got->redelivered, 1u);

  // Released items go back to pending and are claimed again.
  ASSERT_TRUE(jobs().ReleaseItems(job->id, {4, 5}).ok());
  auto again = jobs().ClaimItems(job->id, 10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].seq, 4);

  ASSERT_TRUE(jobs().SetJobState(job->id, JobState::kCompleted, "").ok());
  got = jobs().GetJob(job->id);
  EXPECT_EQ(got->state, JobState::kCompleted);
  EXPECT_GT(got->finished_at_us, 0);
  EXPECT_TRUE(jobs().UnfinishedJobs()->empty());
}

TEST_P(JobContract, RecoveryCompletesFinishedItemsAndMarksTheRest) {
  auto seeded = Seed();
  auto job = jobs().CreateJob({.filter = "channel = a"}, "");
  ASSERT_TRUE(job.ok());
  auto items = jobs().ClaimItems(job->id, 3);
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

  auto marked = jobs().RecoverInFlight(job->id);
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_EQ(*marked, 2u);
  auto got = jobs().GetJob(job->id);
  EXPECT_EQ(got->done, 1u);
  EXPECT_EQ(got->failed, 1u);
  auto again = jobs().ClaimItems(job->id, 10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 4u);
  EXPECT_EQ((*again)[0].seq, 2);
  EXPECT_TRUE((*again)[0].redelivery);
  EXPECT_TRUE((*again)[1].redelivery);
  EXPECT_FALSE((*again)[2].redelivery);
}

TEST_P(JobContract, UnknownJobsAreNotFound) {
  for (std::string id : {"x", "999", ""}) {
    EXPECT_EQ(jobs().GetJob(id).status().code(), StatusCode::kNotFound) << id;
    // A well-formed id of no job has nothing to claim; a malformed one names no job.
    auto claimed = jobs().ClaimItems(id, 1);
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

#define REPRISE_BOTH_BACKENDS(fixture) \
  INSTANTIATE_TEST_SUITE_P(Backends, fixture, ::testing::Values("sqlite", "postgresql"), BackendName)
REPRISE_BOTH_BACKENDS(JournalContract);
REPRISE_BOTH_BACKENDS(AuditContract);
REPRISE_BOTH_BACKENDS(FlowContract);
REPRISE_BOTH_BACKENDS(JobContract);

}  // namespace
}  // namespace reprise
