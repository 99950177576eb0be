// Tests of compiled filters (filter/compiler.cc): above all what they
// select in a real SQLite database, and the shape of the SQL for PostgreSQL.
#include "reprise/store/filter.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "reprise/base/ulid.h"

namespace reprise::filter {
namespace {

// 2026-11-23T12:00:00Z: "now" for relative times.
constexpr int64_t kNowUs = 1795435200000000;
constexpr int64_t kHourUs = 3600LL * 1000000;
constexpr int64_t kMinuteUs = 60LL * 1000000;

// SQLite SQL ------------------------------------------------------------------------
// The filter semantics run on both backends in tests/store/journal_contract_test.cc
// (FilterContract). What stays here needs a fixed "now" or checks the SQL text.

struct Row {
  std::string name;
  int direction;
  std::string channel, key;
  const char* correlation;  // nullptr: NULL
  const char* causation;    // "A": the id of row A
  const char* headers;
  std::string payload;  // bytes; empty: NULL
  const char* content_type;
  int64_t recorded_us;
  int outcome;
  const char* error;
  int attempt;
  const char* origin;  // "A": the id of row A
  const char* job;
  const char* variant;
};

class FilterSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    // The journal's messages table, plus `name` so tests read well.
    Exec(R"(CREATE TABLE messages (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, direction INTEGER, channel TEXT NOT NULL,
      message_key TEXT NOT NULL, correlation_id TEXT NULL, causation_id TEXT NULL, headers TEXT NULL,
      payload BLOB, content_type TEXT NULL, recorded_at INTEGER NOT NULL, outcome INTEGER,
      error TEXT NULL, attempt INTEGER, origin_id TEXT NULL, job_id TEXT NULL, flow_variant TEXT NULL,
      name TEXT NOT NULL))");
    // In id (= time) order: E D F A B C.
    const std::string binary("\x00\xff\x10{", 4);
    const std::vector<Row> rows = {
        {"E", 1, "orders.created", "account:420", nullptr, nullptr, R"({"Tenant":"ACME"})",
         "not json {", "text/plain", 1795168800000000 /* 2026-11-20T10:00:00Z */, 3,
         "Connection TIMEOUT", 5, nullptr, "170", "v1"},
        {"D", 2, "orders.created", "order:9", nullptr, nullptr, R"({"tenant":"acme"})",
         R"({"amount":"150","status":"new","n":null})", "application/json",
         1795391999999999 /* 2026-11-22T23:59:59.999999Z */, 4, nullptr, 3, nullptr, nullptr, "v1"},
        {"F", 1, "metrics[1]", "k", nullptr, nullptr, "{}", "", nullptr,
         1795392000000000 /* 2026-11-23T00:00Z */, 2, nullptr, 1, nullptr, nullptr, nullptr},
        {"A", 1, "payments.received", "account:42", "c1", nullptr,
         R"({"tenant":"acme","x-trace":"t1"})",
         R"({"amount":150,"currency":"EUR","items":[{"sku":"A-1","qty":2}],"active":true,"note":"Hello World"})",
         "application/json", kNowUs - 3 * kHourUs, 2, nullptr, 1, nullptr, nullptr, nullptr},
        {"B", 1, "payments.received", "account:7", "c1", "A", R"({"tenant":"globex"})",
         R"({"amount":50.5,"currency":"USD","items":[],"active":false})", "application/json",
         kNowUs - 90 * kMinuteUs, 3, "timeout after 30s", 2, nullptr, nullptr, "v2"},
        {"C", 2, "payments.settled", "account:42", "c2", nullptr, nullptr, binary,
         "application/octet-stream", kNowUs - 30 * kMinuteUs, 1, nullptr, 1, "A", "17", nullptr},
    };
    UlidGenerator ulids;
    for (const Row& r : rows) ids_[r.name] = ulids.Next(r.recorded_us / 1000);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(
                  db_,
                  "INSERT INTO messages (id, direction, channel, message_key, correlation_id, "
                  "causation_id, headers, payload, content_type, recorded_at, outcome, error, "
                  "attempt, origin_id, job_id, flow_variant, name) VALUES "
                  "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  -1, &st, nullptr),
              SQLITE_OK);
    auto text = [&](int i, const char* v) {
      if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null(st, i);
    };
    for (const Row& r : rows) {
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, ids_[r.name].c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(st, 2, r.direction);
      sqlite3_bind_text(st, 3, r.channel.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 4, r.key.c_str(), -1, SQLITE_TRANSIENT);
      text(5, r.correlation);
      text(6, r.causation ? ids_[r.causation].c_str() : nullptr);
      text(7, r.headers);
      // Payloads are BLOBs, as the journal writes them.
      if (r.payload.empty())
        sqlite3_bind_null(st, 8);
      else
        sqlite3_bind_blob(st, 8, r.payload.data(), static_cast<int>(r.payload.size()),
                          SQLITE_TRANSIENT);
      text(9, r.content_type);
      sqlite3_bind_int64(st, 10, r.recorded_us);
      sqlite3_bind_int(st, 11, r.outcome);
      text(12, r.error);
      sqlite3_bind_int(st, 13, r.attempt);
      text(14, r.origin ? ids_[r.origin].c_str() : nullptr);
      text(15, r.job);
      text(16, r.variant);
      sqlite3_bind_text(st, 17, r.name.c_str(), -1, SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(st);
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "");
  }

  static void Bind(sqlite3_stmt* st, int index, const SqlValue& v) {
    if (const auto* i = std::get_if<int64_t>(&v))
      sqlite3_bind_int64(st, index, *i);
    else if (const auto* d = std::get_if<double>(&v))
      sqlite3_bind_double(st, index, *d);
    else {
      const std::string& s = std::get<std::string>(v);
      sqlite3_bind_text(st, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
  }

  // Runs `sql` with `params` bound from `first`; returns column 0 of every row
  // joined by `sep`, or "<error: ...>".
  std::string Run(const std::string& sql, const std::vector<SqlValue>& params, int first,
                  const char* sep) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      return std::string("<error: ") + sqlite3_errmsg(db_) + " in " + sql + ">";
    }
    for (size_t i = 0; i < params.size(); ++i) Bind(st, first + static_cast<int>(i), params[i]);
    std::string out;
    int rc;
    bool firstRow = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (!firstRow) out += sep;
      firstRow = false;
      const unsigned char* t = sqlite3_column_text(st, 0);
      out += t ? reinterpret_cast<const char*>(t) : "NULL";
      if (sqlite3_column_count(st) > 1) out += "=" + std::to_string(sqlite3_column_int64(st, 1));
    }
    if (rc != SQLITE_DONE) out = std::string("<error: ") + sqlite3_errmsg(db_) + " in " + sql + ">";
    sqlite3_finalize(st);
    return out;
  }

  // Names of the rows `filter` selects, in id order: "EDFABC" is everything.
  std::string Q(const std::string& filter) {
    CompileOptions opt;
    opt.now_us = kNowUs;
    auto c = Compile(filter, opt);
    if (!c.ok()) return "<" + c.status().message() + ">";
    return Run("SELECT name FROM messages WHERE " + c->where + " ORDER BY id", c->params, 1, "");
  }

  sqlite3* db_ = nullptr;
  std::map<std::string, std::string> ids_;
};

TEST_F(FilterSqliteTest, EmptyFilterSelectsAll) {
  EXPECT_EQ(Q(""), "EDFABC");
  auto c = Compile(nullptr, CompileOptions{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "1=1");
  EXPECT_TRUE(c->params.empty());
}

TEST_F(FilterSqliteTest, OutcomeIsOneBoundInteger) {
  CompileOptions opt;
  auto c = Compile("outcome = failed", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "outcome = ?1");
  ASSERT_EQ(c->params.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(c->params[0]), 3);
}

TEST_F(FilterSqliteTest, RecordedRelative) {
  // now is 12:00; A at 09:00, B at 10:30, C at 11:30 on 2026-11-23.
  EXPECT_EQ(Q("recorded > -2h"), "BC");
  EXPECT_EQ(Q("recorded >= -3h"), "ABC");
  EXPECT_EQ(Q("recorded > -3h"), "BC");
  EXPECT_EQ(Q("recorded < -3h"), "EDF");
  EXPECT_EQ(Q("recorded <= -3h"), "EDFA");
  EXPECT_EQ(Q("recorded = -3h"), "A");
  EXPECT_EQ(Q("recorded != -3h"), "EDFBC");
  EXPECT_EQ(Q("recorded > -7d"), "EDFABC");
  EXPECT_EQ(Q("recorded > -1d"), "DFABC");
  EXPECT_EQ(Q("recorded > -45s"), "");
  EXPECT_EQ(Q("recorded > -30m"), "");
  EXPECT_EQ(Q("recorded >= -30m"), "C");
  EXPECT_EQ(Q("recorded > -31m"), "C");
  EXPECT_EQ(Q("not recorded >= -2h"), "EDFA");
  EXPECT_EQ(Q("recorded > '-2h'"), "BC");
}

TEST_F(FilterSqliteTest, RecordedAbsolute) {
  // A date is its whole UTC day; a time without fraction its whole second.
  EXPECT_EQ(Q("recorded = 2026-11-23"), "FABC");
  EXPECT_EQ(Q("recorded = 2026-11-22"), "D");
  EXPECT_EQ(Q("recorded != 2026-11-23"), "ED");
  EXPECT_EQ(Q("recorded > 2026-11-22"), "FABC");
  EXPECT_EQ(Q("recorded >= 2026-11-22"), "DFABC");
  EXPECT_EQ(Q("recorded < 2026-11-23"), "ED");
  EXPECT_EQ(Q("recorded <= 2026-11-22"), "ED");
  EXPECT_EQ(Q("recorded <= 2026-11-23"), "EDFABC");
  EXPECT_EQ(Q("recorded >= 2026-11-23T00:00:00Z"), "FABC");
  EXPECT_EQ(Q("recorded < 2026-11-23T00:00:00Z"), "ED");
  EXPECT_EQ(Q("recorded = 2026-11-22T23:59:59Z"), "D");
  EXPECT_EQ(Q("recorded = 2026-11-22T23:59:59.9Z"), "D");
  EXPECT_EQ(Q("recorded = \"2026-11-22T23:59:59.999999Z\""), "D");
  EXPECT_EQ(Q("recorded = 2026-11-22T23:59:59.999998Z"), "");
  EXPECT_EQ(Q("recorded > 2026-11-22T23:59:59Z"), "FABC");
  EXPECT_EQ(Q("recorded = 2026-11-23T01:00:00+01:00"), "F");
  EXPECT_EQ(Q("recorded = \"2026-11-23 00:00Z\""), "F");
  EXPECT_EQ(Q("recorded > 2026-11-23T10:00:00+01:00"), "BC");  // 09:00Z: after that second
  EXPECT_EQ(Q("recorded >= 2026-11-23T10:00:00+01:00"), "ABC");
  EXPECT_EQ(Q("recorded >= 2026-11-20 and recorded < 2026-11-21"), "E");
}

TEST_F(FilterSqliteTest, RecordedLowerBoundsAlsoBoundTheId) {
  CompileOptions opt;
  opt.now_us = kNowUs;
  auto c = Compile("recorded >= -2h", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "(recorded_at >= ?1 AND id >= ?2)");
  ASSERT_EQ(c->params.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(c->params[0]), kNowUs - 2 * kHourUs);
  EXPECT_EQ(std::get<std::string>(c->params[1]), UlidLowerBound((kNowUs - 2 * kHourUs) / 1000));

  c = Compile("recorded = 2026-11-23", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "(recorded_at >= ?1 AND recorded_at < ?2 AND id >= ?3)");
  EXPECT_EQ(std::get<int64_t>(c->params[0]), 1795392000000000);
  EXPECT_EQ(std::get<int64_t>(c->params[1]), 1795392000000000 + 24 * kHourUs);

  c = Compile("recorded > 2026-11-23", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "(recorded_at >= ?1 AND id >= ?2)");
  EXPECT_EQ(std::get<std::string>(c->params[1]),
            UlidLowerBound((1795392000000000 + 24 * kHourUs) / 1000));

  // Upper bounds cannot bound the id (an id may be later than its record).
  c = Compile("recorded < -2h", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "recorded_at < ?1");
  c = Compile("recorded != 2026-11-23", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "(recorded_at < ?1 OR recorded_at >= ?2)");

  // The id bound never drops a row the time test keeps.
  for (const char* f :
       {"recorded >= 2026-11-23T09:00:00Z", "recorded > 2026-11-23T08:59:59.999Z",
        "recorded >= 2026-11-22T23:59:59.999999Z", "recorded = 2026-11-22T23:59:59.999999Z"}) {
    auto with = Compile(f, opt);
    ASSERT_TRUE(with.ok());
    std::string where = std::regex_replace(with->where, std::regex(" AND id >= \\?\\d+"), "");
    auto params = with->params;
    params.pop_back();
    EXPECT_EQ(
        Run("SELECT name FROM messages WHERE " + with->where + " ORDER BY id", with->params, 1, ""),
        Run("SELECT name FROM messages WHERE " + where + " ORDER BY id", params, 1, ""))
        << f;
  }
}

TEST_F(FilterSqliteTest, ValuesNeverReachTheSqlText) {
  for (const std::string& f :
       {std::string("channel = \"x' OR 1=1 --\""),
        std::string("key ~ \"'; DROP TABLE messages; --\""),
        std::string("header.tenant = \"') OR 1=1 --\""), std::string("payload.a$b = 1"),
        std::string("payload.x' = 'y ~ \"*\""), std::string("error ~ \"%_\\\\\"")}) {
    CompileOptions opt;
    auto c = Compile(f, opt);
    if (!c.ok()) continue;  // some of these do not even lex, which is fine too
    for (const SqlValue& p : c->params) {
      if (const auto* s = std::get_if<std::string>(&p)) {
        if (s->size() > 2) {
          EXPECT_EQ(c->where.find(*s), std::string::npos) << f << " leaked " << *s;
        }
      }
    }
    EXPECT_EQ(c->where.find("1=1"), std::string::npos) << f;
    EXPECT_EQ(c->where.find("DROP"), std::string::npos) << f;
  }
  EXPECT_EQ(Q("channel = \"x' OR 1=1 --\""), "");
  EXPECT_EQ(Q("key ~ \"'; DROP TABLE messages; --\""), "");
  EXPECT_EQ(Q("header.tenant = \"') OR 1=1 --\""), "");
  EXPECT_EQ(Q("payload.a$b = 1"), "");
  EXPECT_EQ(Q(""), "EDFABC");  // the table is intact
}

TEST_F(FilterSqliteTest, ParamsStartAtFirstParam) {
  CompileOptions opt;
  opt.now_us = kNowUs;
  opt.first_param = 3;
  auto c = Compile("outcome = failed or header.tenant = acme", opt);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->where, "(outcome = ?3 OR json_extract(headers, ?4) = ?5)");
  // The journal's own parameters come first.
  std::vector<SqlValue> params = {std::string("D"), std::string("Z")};
  params.insert(params.end(), c->params.begin(), c->params.end());
  EXPECT_EQ(Run("SELECT name FROM messages WHERE name <> ?1 AND name <> ?2 AND " + c->where +
                    " ORDER BY id",
                params, 1, ""),
            "EAB");
  opt.first_param = 0;
  EXPECT_FALSE(Compile("outcome = failed", opt).ok());
}

TEST_F(FilterSqliteTest, GroupByParamsComeFirst) {
  // Group-by parameters come first; the filter's follow.
  CompileOptions opt;
  auto g = CompileGroupBy("header.tenant", opt);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->where, "COALESCE(json_extract(headers, ?1), '')");
  opt.first_param = 1 + static_cast<int>(g->params.size());
  auto f = Compile("direction = in", opt);
  ASSERT_TRUE(f.ok());
  std::vector<SqlValue> params = g->params;
  params.insert(params.end(), f->params.begin(), f->params.end());
  EXPECT_EQ(Run("SELECT " + g->where + ", COUNT(*) FROM messages WHERE " + f->where +
                    " GROUP BY 1 ORDER BY 1",
                params, 1, ","),
            "=2,acme=1,globex=1");
}

TEST(FilterCompile, HandBuiltAstsAreChecked) {
  Expr e;
  e.node = Comparison{"chanel", Op::kEq, {Value{Value::Kind::kWord, "x", 0}}, 0};
  auto c = Compile(&e, CompileOptions{});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "filter: unknown field \"chanel\"; did you mean \"channel\"?");
  e.node = Comparison{"channel", Op::kEq, {}, 0};
  EXPECT_FALSE(Compile(&e, CompileOptions{}).ok());
  e.node = Comparison{"outcome", Op::kLt, {Value{Value::Kind::kWord, "ok", 0}}, 0};
  EXPECT_FALSE(Compile(&e, CompileOptions{}).ok());
  e.node = Comparison{"header.a\"b", Op::kEq, {Value{Value::Kind::kWord, "ok", 0}}, 0};
  EXPECT_FALSE(Compile(&e, CompileOptions{}).ok());
  e.node = Not{nullptr};
  EXPECT_FALSE(Compile(&e, CompileOptions{}).ok());
}

// PostgreSQL: the shape of the SQL and its parameters -------------------------------

CompiledFilter Pg(std::string_view text, int first_param = 1) {
  CompileOptions opt;
  opt.dialect = Dialect::kPostgres;
  opt.now_us = kNowUs;
  opt.first_param = first_param;
  auto c = Compile(text, opt);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status().message();
  return c.ok() ? *c : CompiledFilter{};
}

TEST(FilterPostgres, SqlShape) {
  auto c = Pg("outcome = failed");
  EXPECT_EQ(c.where, "outcome = $1::bigint");
  ASSERT_EQ(c.params.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(c.params[0]), 3);

  c = Pg("channel = a and origin != b", 5);
  EXPECT_EQ(c.where, "(channel = $5::text AND COALESCE(origin_id, '') <> $6::text)");

  c = Pg("header.tenant = acme");
  EXPECT_EQ(c.where, "(headers ->> $1::text) = $2::text");
  EXPECT_EQ(std::get<std::string>(c.params[0]), "tenant");

  c = Pg("payload.items[0].sku = \"A-1\"");
  EXPECT_EQ(c.where, "(payload_json #>> $1::text[]) = $2::text");
  EXPECT_EQ(std::get<std::string>(c.params[0]), "{\"items\",\"0\",\"sku\"}");

  c = Pg("payload.amount > 100");
  EXPECT_EQ(c.where,
            "CASE WHEN jsonb_typeof(payload_json #> $1::text[]) = 'number' THEN (payload_json #>> "
            "$1::text[])::numeric "
            "END > $2::numeric");
  EXPECT_EQ(std::get<int64_t>(c.params[1]), 100);
  c = Pg("payload.amount <= 2.5");
  EXPECT_DOUBLE_EQ(std::get<double>(c.params[1]), 2.5);

  c = Pg("key ~ \"a*b_%?\"");
  EXPECT_EQ(c.where, "message_key LIKE $1::text");
  EXPECT_EQ(std::get<std::string>(c.params[0]), "a%b\\_\\%_");

  c = Pg("error ~ Timeout");
  EXPECT_EQ(c.where, "strpos(lower(COALESCE(error, '')), lower($1::text)) > 0");

  c = Pg("recorded >= -2h");
  EXPECT_EQ(c.where, "(recorded_at >= $1::bigint AND id >= $2::text)");

  c = Pg("not origin = x");
  EXPECT_EQ(c.where, "(origin_id = $1::text) IS NOT TRUE");
  c = Pg("not (origin = x or outcome = ok)");
  EXPECT_EQ(c.where, "(origin_id = $1::text OR outcome = $2::bigint) IS NOT TRUE");
  c = Pg("not outcome = ok");
  EXPECT_EQ(c.where, "NOT outcome = $1::bigint");
  // Larger and/or operands come first (see LimitsRunInSqlite).
  c = Pg("channel = a and (key = b or key = c)");
  EXPECT_EQ(c.where, "((message_key = $1::text OR message_key = $2::text) AND channel = $3::text)");

  CompileOptions opt;
  opt.dialect = Dialect::kPostgres;
  auto g = CompileGroupBy("outcome", opt);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->where,
            "CASE outcome WHEN 1 THEN 'pending' WHEN 2 THEN 'ok' WHEN 3 THEN 'failed' WHEN 4 THEN "
            "'skipped' ELSE "
            "CAST(outcome AS TEXT) END");
  g = CompileGroupBy("payload.a.b", opt);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->where, "COALESCE((payload_json #>> $1::text[]), '')");
}

TEST(FilterPostgres, PlaceholdersAreNumberedAndAllUsed) {
  for (const char* f :
       {"channel = \"payments.received\" and outcome = failed and recorded > -2h",
        "key ~ \"account:4*\" or error ~ \"timeout\"", "payload.a in (1, \"x\", \"\", 2.5)",
        "header.a in (x, y) and not recorded = 2026-11-23", "attempt in (1, 2, 3)"}) {
    for (int first : {1, 7}) {
      auto c = Pg(f, first);
      EXPECT_EQ(c.where.find('?'), std::string::npos) << c.where;
      std::set<int> used;
      std::regex placeholder("\\$(\\d+)");
      for (auto it = std::sregex_iterator(c.where.begin(), c.where.end(), placeholder);
           it != std::sregex_iterator(); ++it) {
        used.insert(std::stoi((*it)[1]));
      }
      std::set<int> expected;
      for (size_t i = 0; i < c.params.size(); ++i) expected.insert(first + static_cast<int>(i));
      EXPECT_EQ(used, expected) << f << " -> " << c.where;
    }
  }
}

}  // namespace
}  // namespace reprise::filter
