// Tests of the filter language as the parser reads it (filter/parser.cc,
// filter/lexer.cc): parsing, error messages, canonical text, the fields and
// keywords. What compiled filters select: compiler_test.cc.
#include "reprise/store/filter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

namespace reprise::filter {
namespace {

std::string Canon(std::string_view text) {
  auto e = Parse(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  if (!e.ok()) return "<error>";
  return *e ? ToString(**e) : "<all>";
}

std::string Error(std::string_view text) {
  auto e = Parse(text);
  EXPECT_FALSE(e.ok()) << text << " parsed as " << (e.ok() && *e ? ToString(**e) : "");
  if (e.ok()) return "<ok>";
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_EQ(e.status().message().rfind("filter: ", 0), 0u) << e.status().message();
  return e.status().message();
}

const Comparison& OnlyComparison(const ExprPtr& e) {
  static const Comparison kNone;
  if (!e || !std::holds_alternative<Comparison>(e->node)) {
    ADD_FAILURE() << "not a single comparison";
    return kNone;
  }
  return std::get<Comparison>(e->node);
}

// Parsing ---------------------------------------------------------------------

TEST(FilterParse, BlankMatchesEverything) {
  for (const char* text : {"", " ", " \t\n "}) {
    auto e = Parse(text);
    ASSERT_TRUE(e.ok());
    EXPECT_EQ(*e, nullptr);
  }
}

TEST(FilterParse, Precedence) {
  // not > and > or.
  EXPECT_EQ(Canon("channel = a or key = b and outcome = failed"),
            "(channel = a or (key = b and outcome = failed))");
  EXPECT_EQ(Canon("channel = a and key = b or outcome = failed"),
            "((channel = a and key = b) or outcome = failed)");
  EXPECT_EQ(Canon("not channel = a and key = b"), "(not channel = a and key = b)");
  EXPECT_EQ(Canon("not (channel = a or key = b)"), "not (channel = a or key = b)");
  EXPECT_EQ(Canon("(channel = a or key = b) and outcome = ok"),
            "((channel = a or key = b) and outcome = ok)");
  EXPECT_EQ(Canon("not not outcome = ok"), "not not outcome = ok");
  // Chains of one operator print as one group however they were grouped.
  EXPECT_EQ(Canon("key = a and key = b and key = c"), "(key = a and key = b and key = c)");
  EXPECT_EQ(Canon("key = a and (key = b and key = c)"), "(key = a and key = b and key = c)");
  EXPECT_EQ(Canon("((key = a))"), "key = a");
}

TEST(FilterParse, KeywordsAndFieldsAreCaseInsensitive) {
  EXPECT_EQ(Canon("Channel = a AND NOT KEY = b Or outcome = FAILED"),
            "((channel = a and not key = b) or outcome = FAILED)");
  EXPECT_EQ(Canon("OUTCOME IN (failed) and Direction NOT IN (out)"),
            "(outcome in (failed) and not direction in (out))");
}

TEST(FilterParse, InLists) {
  EXPECT_EQ(Canon("outcome in (failed, skipped)"), "outcome in (failed, skipped)");
  EXPECT_EQ(Canon("outcome in(failed,skipped)"), "outcome in (failed, skipped)");
  EXPECT_EQ(Canon("outcome not in (ok)"), "not outcome in (ok)");
  EXPECT_EQ(Canon("channel in (\"a b\", 'c', 17)"), "channel in (\"a b\", \"c\", 17)");
  // "in" is also a direction.
  EXPECT_EQ(Canon("direction in (in, out)"), "direction in (in, out)");
  EXPECT_EQ(Canon("direction = in"), "direction = in");
  auto e = Parse("job in (1, 2, 3)");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(OnlyComparison(*e).values.size(), 3u);
  EXPECT_EQ(OnlyComparison(*e).op, Op::kIn);
}

TEST(FilterParse, QuotingAndEscapes) {
  auto e = Parse(R"(key = "a \"q\" \\ b")");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(OnlyComparison(*e).values[0].text, R"(a "q" \ b)");
  EXPECT_EQ(OnlyComparison(*e).values[0].kind, Value::Kind::kString);
  EXPECT_EQ(ToString(**e), R"(key = "a \"q\" \\ b")");

  e = Parse(R"(key = 'it\'s' or key = 'say "hi"')");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ToString(**e), R"((key = "it's" or key = "say \"hi\""))");

  // Quoting keeps keywords, spaces and operator characters as plain text.
  EXPECT_EQ(Canon("key = \"and\""), "key = \"and\"");
  EXPECT_EQ(Canon("key = \"a = b (c), d\""), "key = \"a = b (c), d\"");
  EXPECT_EQ(Canon("key = \"\""), "key = \"\"");
}

TEST(FilterParse, BareWords) {
  EXPECT_EQ(Canon("key=account:42"), "key = account:42");
  EXPECT_EQ(Canon("channel = payments.received"), "channel = payments.received");
  EXPECT_EQ(Canon("id = 01JD8XKQ6V3M2N0P4R5S7T9W1Y"), "id = 01JD8XKQ6V3M2N0P4R5S7T9W1Y");
  EXPECT_EQ(Canon("recorded>2026-11-23T10:00:00Z"), "recorded > 2026-11-23T10:00:00Z");
  EXPECT_EQ(Canon("outcome=failed and(attempt>=2)"), "(outcome = failed and attempt >= 2)");
  EXPECT_EQ(Canon("key = a-b_c/d@e#f"), "key = a-b_c/d@e#f");
}

TEST(FilterParse, ValueKinds) {
  auto kind = [](std::string_view text) {
    auto e = Parse(text);
    EXPECT_TRUE(e.ok()) << text;
    return e.ok() ? OnlyComparison(*e).values[0].kind : Value::Kind::kString;
  };
  EXPECT_EQ(kind("job = 17"), Value::Kind::kNumber);
  EXPECT_EQ(kind("payload.a = -3.5"), Value::Kind::kNumber);
  EXPECT_EQ(kind("payload.a = 1e3"), Value::Kind::kNumber);
  EXPECT_EQ(kind("recorded > -2h"), Value::Kind::kRelativeTime);
  EXPECT_EQ(kind("recorded > -45s"), Value::Kind::kRelativeTime);
  EXPECT_EQ(kind("outcome = failed"), Value::Kind::kWord);
  EXPECT_EQ(kind("key = 0x10"), Value::Kind::kWord);
  EXPECT_EQ(kind("key = 1."), Value::Kind::kWord);
  EXPECT_EQ(kind("job = \"17\""), Value::Kind::kString);
}

TEST(FilterParse, EveryField) {
  const std::map<std::string, std::string> fields = {
      {"id", "id"},
      {"channel", "channel"},
      {"key", "key"},
      {"correlation", "correlation"},
      {"causation", "causation"},
      {"origin", "origin"},
      {"job", "job"},
      {"error", "error"},
      {"variant", "variant"},
      {"Content_Type", "content_type"},
      {"header.tenant", "header.tenant"},
      {"HEADER.X-Tenant", "header.X-Tenant"},
      {"header.a.b", "header.a.b"},
      {"payload.amount", "payload.amount"},
      {"payload.Items[0].sku", "payload.Items.0.sku"},
      {"payload.items.0.sku", "payload.items.0.sku"},
      {"payload[1].a", "payload.1.a"},
      {"payload.a[2][3]", "payload.a.2.3"},
  };
  for (const auto& [name, canonical] : fields) {
    auto e = Parse(name + " = x");
    ASSERT_TRUE(e.ok()) << name << ": " << e.status().message();
    EXPECT_EQ(OnlyComparison(*e).field, canonical);
    EXPECT_EQ(OnlyComparison(*e).column, 1);
  }
  EXPECT_EQ(Canon("direction = out"), "direction = out");
  EXPECT_EQ(Canon("outcome = pending"), "outcome = pending");
  EXPECT_EQ(Canon("recorded >= -7d"), "recorded >= -7d");
  EXPECT_EQ(Canon("attempt > 1"), "attempt > 1");
}

// A flag is true or false; the field alone means true, so `not resolved`
// reads as it sounds.
TEST(FilterParse, Flags) {
  EXPECT_EQ(Canon("resolved"), "resolved = true");
  EXPECT_EQ(Canon("not resolved"), "not resolved = true");
  EXPECT_EQ(Canon("outcome = failed and not resolved"), "(outcome = failed and not resolved = true)");
  EXPECT_EQ(Canon("(resolved) or key = a"), "(resolved = true or key = a)");
  EXPECT_EQ(Canon("Resolved != FALSE"), "resolved != FALSE");
  EXPECT_EQ(Error("resolved = maybe"),
            "filter: resolved is true or false at column 12, found \"maybe\"; e.g. not resolved or "
            "resolved = false");
  EXPECT_EQ(Error("resolved > true"),
            "filter: operator \">\" does not apply to resolved at column 10; use = or != (true or false), "
            "or the field alone");
  EXPECT_EQ(Error("resolved key = a"),
            "filter: unexpected \"key\" at column 10; expected \"and\", \"or\" or the end of the filter; did you "
            "forget \"and\" or \"or\" before \"key\"?");
}

TEST(FilterParse, TimeFormats) {
  for (const char* t :
       {"2026-11-23", "2026-11-23T10:00:00Z", "2026-11-23t10:00:00z", "2026-11-23T10:00:00.5Z",
        "2026-11-23T10:00:00.123456789Z", "2026-11-23T10:00:00+02:00", "2026-11-23T10:00:00-05:30",
        "2026-11-23T10:00Z", "\"2026-11-23 10:00:00Z\"", "2024-02-29", "-45s", "-30m", "-2h", "-7d",
        "'-2h'"}) {
    std::string text = std::string("recorded > ") + t;
    EXPECT_TRUE(Parse(text).ok()) << text << ": " << Parse(text).status().message();
  }
}

TEST(FilterParse, ColumnsCountCharactersNotBytes) {
  auto e = Parse("channel = \"zürich\" and key = x");
  ASSERT_TRUE(e.ok());
  const And& a = std::get<And>((*e)->node);
  EXPECT_EQ(std::get<Comparison>(a.right->node).column, 24);
  EXPECT_EQ(std::get<Comparison>(a.left->node).values[0].column, 11);
  EXPECT_EQ(Error("channel = \"zürich\" and kye = x"),
            "filter: unknown field \"kye\" at column 24; did you mean \"key\"?");
}

// Errors -----------------------------------------------------------------------

TEST(FilterErrors, UnknownFieldExactText) {
  EXPECT_EQ(Error("chanel = \"payments.received\""),
            "filter: unknown field \"chanel\" at column 1; did you mean \"channel\"?");
  EXPECT_EQ(Error("channel = x and ouctome = ok"),
            "filter: unknown field \"ouctome\" at column 17; did you mean \"outcome\"?");
  EXPECT_EQ(Error("status = failed"),
            "filter: unknown field \"status\" at column 1; did you mean \"outcome\"?");
  EXPECT_EQ(Error("recorded_at > -2h"),
            "filter: unknown field \"recorded_at\" at column 1; did you mean \"recorded\"?");
  EXPECT_EQ(
      Error("headers.tenant = acme"),
      "filter: unknown field \"headers.tenant\" at column 1; did you mean \"header.tenant\"?");
  EXPECT_EQ(Error("body.items[0].sku = x"),
            "filter: unknown field \"body.items[0].sku\" at column 1; did you mean "
            "\"payload.items[0].sku\"?");
  EXPECT_EQ(Error("failed"),
            "filter: unknown field \"failed\" at column 1; did you mean \"outcome = failed\"?");
  EXPECT_EQ(Error("colour = red"),
            "filter: unknown field \"colour\" at column 1; use one of id, direction, channel, key, "
            "correlation, "
            "causation, origin, job, outcome, error, recorded, attempt, variant, content_type, "
            "resolved, latest, header.NAME, "
            "payload.PATH");
}

TEST(FilterErrors, UnknownEnumValues) {
  EXPECT_EQ(Error("outcome = faild"),
            "filter: unknown outcome \"faild\" at column 11; expected one of pending, ok, failed, "
            "skipped; "
            "did you mean \"failed\"?");
  EXPECT_EQ(Error("outcome in (ok, skiped)"),
            "filter: unknown outcome \"skiped\" at column 17; expected one of pending, ok, failed, "
            "skipped; "
            "did you mean \"skipped\"?");
  EXPECT_EQ(Error("outcome = banana"),
            "filter: unknown outcome \"banana\" at column 11; expected one of pending, ok, failed, "
            "skipped");
  EXPECT_EQ(Error("direction = inn"),
            "filter: unknown direction \"inn\" at column 13; expected one of in, out; did you mean "
            "\"in\"?");
  EXPECT_EQ(
      Error("outcome = 3"),
      "filter: unknown outcome \"3\" at column 11; expected one of pending, ok, failed, skipped");
}

TEST(FilterErrors, MissingPieces) {
  EXPECT_EQ(
      Error("channel ="),
      "filter: missing value for channel after \"=\" at column 10; write a value, in quotes if it "
      "contains spaces or symbols");
  EXPECT_EQ(Error("outcome = )"),
            "filter: missing value for outcome after \"=\" at column 11, found \")\"; expected one "
            "of pending, "
            "ok, failed, skipped");
  EXPECT_EQ(Error("channel = and key = x"),
            "filter: missing value for channel at column 11, found \"and\"; to use the word itself "
            "as the value, "
            "quote it: \"and\"");
  EXPECT_EQ(
      Error("channel"),
      "filter: missing operator after \"channel\" at column 8; use =, !=, <, <=, >, >=, ~ or in");
  EXPECT_EQ(Error("outcome failed"),
            "filter: expected an operator after \"outcome\" at column 9, found \"failed\"; use =, "
            "!= or in");
  EXPECT_EQ(
      Error("channel = a and"),
      "filter: missing comparison after \"and\" at column 16; add one, e.g. outcome = failed");
  EXPECT_EQ(Error("not"),
            "filter: missing comparison after \"not\" at column 4; add one, e.g. outcome = failed");
  EXPECT_EQ(
      Error("and key = a"),
      "filter: missing comparison before \"and\" at column 1; add one, e.g. outcome = failed");
  EXPECT_EQ(Error("= a"),
            "filter: missing field before \"=\" at column 1; write FIELD = VALUE, e.g. channel = "
            "\"orders\"");
  EXPECT_EQ(Error("\"orders\""),
            "filter: expected a field at column 1, found \"orders\"; a comparison starts with a "
            "field, e.g. "
            "key ~ \"orders\"");
  EXPECT_EQ(
      Error("header = x"),
      "filter: header needs a name at column 1; write header.NAME, e.g. header.tenant = \"acme\"");
  EXPECT_EQ(
      Error("payload > 1"),
      "filter: payload needs a path at column 1; write payload.PATH, e.g. payload.amount > 100 or "
      "payload.items.0.sku = \"A-1\"");
  EXPECT_EQ(Error("payload.a..b = 1"),
            "filter: bad payload path \"payload.a..b\" at column 1; write payload.KEY.KEY, with "
            "array elements "
            "as items.0 or items[0]");
  EXPECT_NE(Error("payload.a[x] = 1").find("bad payload path"), std::string::npos);
  EXPECT_NE(Error("payload.a[1 = 1").find("bad payload path"), std::string::npos);
}

TEST(FilterErrors, Parentheses) {
  EXPECT_EQ(Error("(channel = a"),
            "filter: unbalanced parentheses: \"(\" at column 1 is never closed; add \")\"");
  EXPECT_EQ(Error("channel = a)"),
            "filter: unbalanced parentheses: \")\" at column 12 has no matching \"(\"; remove it "
            "or add \"(\" "
            "before it");
  EXPECT_EQ(Error(")"),
            "filter: unbalanced parentheses: \")\" at column 1 has no matching \"(\"; remove it or "
            "add \"(\" before it");
  EXPECT_EQ(
      Error("key = a and ()"),
      "filter: empty parentheses at column 13; put a comparison inside, e.g. (outcome = failed)");
  EXPECT_EQ(Error("(key = a or)"),
            "filter: missing comparison before \")\" at column 12; add one, e.g. outcome = failed");
  EXPECT_EQ(Error("(key = a key = b)"),
            "filter: unexpected \"key\" at column 10; expected \"and\", \"or\" or \")\"; did you "
            "forget \"and\" "
            "or \"or\" before \"key\"?");
}

TEST(FilterErrors, Strings) {
  EXPECT_EQ(Error("key = \"abc"),
            "filter: unterminated string starting at column 7; add the closing \"");
  EXPECT_EQ(Error("key = 'abc"),
            "filter: unterminated string starting at column 7; add the closing '");
  EXPECT_EQ(Error("key = \"abc\\"),
            "filter: unterminated string starting at column 7; add the closing \"");
  EXPECT_EQ(Error("key = \"a\\nb\""),
            "filter: unknown escape \"\\n\" at column 9; inside quotes write \\\" for a quote and "
            "\\\\ for a "
            "backslash");
}

TEST(FilterErrors, Times) {
  const std::string help =
      "; write a time like 2026-11-23T10:00:00Z, a date like 2026-11-23, or a relative time like "
      "-30m, -2h, -7d";
  EXPECT_EQ(Error("recorded > yesterday"), "filter: bad time \"yesterday\" at column 12" + help);
  EXPECT_EQ(Error("recorded > 2026-13-01"),
            "filter: bad time \"2026-13-01\" at column 12 (month must be 01-12)" + help);
  EXPECT_EQ(Error("recorded > 2026-02-29"),
            "filter: bad time \"2026-02-29\" at column 12 (no such day in that month)" + help);
  EXPECT_EQ(Error("recorded > 2026-11-23T10:00:00"),
            "filter: bad time \"2026-11-23T10:00:00\" at column 12 (add a time zone: Z for UTC or "
            "an offset like "
            "+02:00)" +
                help);
  EXPECT_EQ(Error("recorded > 2026-11-23T24:00:00Z"),
            "filter: bad time \"2026-11-23T24:00:00Z\" at column 12 (hour must be 00-23)" + help);
  EXPECT_EQ(Error("recorded > -2x"), "filter: bad time \"-2x\" at column 12" + help);
  EXPECT_EQ(Error("recorded > 1700000000"), "filter: bad time \"1700000000\" at column 12" + help);
  EXPECT_EQ(Error("recorded > -99999999999d"),
            "filter: bad time \"-99999999999d\" at column 12 (too far back)" + help);
  EXPECT_EQ(Error("recorded > 2026-11-23T10:00:00Zjunk"),
            "filter: bad time \"2026-11-23T10:00:00Zjunk\" at column 12" + help);
}

TEST(FilterErrors, OperatorsThatDoNotApply) {
  EXPECT_EQ(Error("attempt ~ 2"),
            "filter: operator \"~\" does not apply to attempt at column 9; use =, !=, <, <=, >, >= "
            "or in");
  EXPECT_EQ(Error("outcome < failed"),
            "filter: operator \"<\" does not apply to outcome at column 9; use =, != or in");
  EXPECT_EQ(Error("direction ~ in"),
            "filter: operator \"~\" does not apply to direction at column 11; use =, != or in");
  EXPECT_EQ(
      Error("recorded in (-2h)"),
      "filter: operator \"in\" does not apply to recorded at column 10; use <, <=, >, >=, = or !=");
  EXPECT_EQ(
      Error("recorded ~ 2026"),
      "filter: operator \"~\" does not apply to recorded at column 10; use <, <=, >, >=, = or !=");
  EXPECT_EQ(Error("attempt = two"),
            "filter: attempt needs a whole number at column 11, found \"two\"; e.g. attempt > 1");
  EXPECT_EQ(Error("attempt = 1.5"),
            "filter: attempt needs a whole number at column 11, found \"1.5\"; e.g. attempt > 1");
  EXPECT_EQ(
      Error("payload.a = 1e999"),
      "filter: number \"1e999\" at column 13 is out of range; quote it to compare it as text");
}

TEST(FilterErrors, UnknownOperators) {
  EXPECT_EQ(Error("channel == a"),
            "filter: unknown operator \"==\" at column 9; did you mean \"=\"?");
  EXPECT_EQ(Error("channel <> a"),
            "filter: unknown operator \"<>\" at column 9; did you mean \"!=\"?");
  EXPECT_EQ(Error("attempt => 2"),
            "filter: unknown operator \"=>\" at column 9; did you mean \">=\"?");
  EXPECT_EQ(Error("key =~ a"), "filter: unknown operator \"=~\" at column 5; did you mean \"~\"?");
  EXPECT_EQ(Error("!key = a"),
            "filter: unknown operator \"!\" at column 1; use != for \"not equal\", or put not "
            "before a comparison");
  EXPECT_EQ(Error("key !~ a"),
            "filter: unknown operator \"!~\" at column 5; write not FIELD ~ VALUE");
  EXPECT_EQ(Error("key <=> a"),
            "filter: unknown operator \"<=>\" at column 5; use one of = != < <= > >= ~");
  EXPECT_EQ(Error("channel not = a"),
            "filter: expected \"in\" after \"not\" at column 9; to negate a comparison put not "
            "before it: not "
            "channel = VALUE");
}

TEST(FilterErrors, TrailingGarbage) {
  EXPECT_EQ(Error("channel = foo bar"),
            "filter: unexpected \"bar\" at column 15; expected \"and\", \"or\" or the end of the "
            "filter; to use "
            "\"foo bar\" as one value, put it in quotes");
  EXPECT_EQ(Error("channel = a key = b"),
            "filter: unexpected \"key\" at column 13; expected \"and\", \"or\" or the end of the "
            "filter; did you "
            "forget \"and\" or \"or\" before \"key\"?");
  EXPECT_EQ(Error("channel = a && key = b"),
            "filter: unexpected \"&&\" at column 13; expected \"and\", \"or\" or the end of the "
            "filter; did you "
            "mean \"and\"?");
  EXPECT_EQ(Error("channel = a || key = b"),
            "filter: unexpected \"||\" at column 13; expected \"and\", \"or\" or the end of the "
            "filter; did you "
            "mean \"or\"?");
  EXPECT_EQ(
      Error("key = a, b"),
      "filter: unexpected \",\" at column 8; expected \"and\", \"or\" or the end of the filter");
}

TEST(FilterErrors, InLists) {
  EXPECT_EQ(Error("outcome in failed"),
            "filter: expected \"(\" after \"in\" at column 12; write outcome in (VALUE, VALUE)");
  EXPECT_EQ(Error("outcome in ()"),
            "filter: empty list at column 12; put at least one value in the parentheses");
  EXPECT_EQ(Error("outcome in (failed skipped)"),
            "filter: expected \",\" or \")\" at column 20, found \"skipped\"; separate the values "
            "of in (...) with "
            "commas");
  EXPECT_EQ(Error("outcome in (failed,"),
            "filter: missing value for outcome after \",\" at column 20; expected one of pending, "
            "ok, failed, "
            "skipped");
  EXPECT_EQ(Error("outcome in (failed, )"),
            "filter: missing value for outcome after \",\" at column 21, found \")\"; expected one "
            "of pending, ok, "
            "failed, skipped");
  EXPECT_EQ(Error("outcome in (failed"),
            "filter: unbalanced parentheses: \"(\" at column 12 is never closed; add \")\"");
  EXPECT_EQ(Error("in (a)"),
            "filter: expected a field at column 1, found \"in\"; write FIELD in (VALUE, ...), e.g. "
            "outcome in "
            "(failed, skipped)");
}

TEST(FilterErrors, LengthLimit) {
  std::string ok = "key = \"" + std::string(kMaxFilterLength - 8, 'a') + "\"";
  ASSERT_EQ(ok.size(), kMaxFilterLength);
  EXPECT_TRUE(Parse(ok).ok());
  std::string too_long = ok + " ";
  EXPECT_EQ(Error(too_long),
            "filter: too long (4097 characters; the limit is 4096); shorten it, e.g. use in (...) "
            "instead of many or");
  // Characters, not bytes: 4096 two-byte characters are fine.
  std::string wide = "key = \"" + [] {
    std::string s;
    for (size_t i = 0; i < kMaxFilterLength - 8; ++i) s += "é";
    return s;
  }() + "\"";
  EXPECT_TRUE(Parse(wide).ok());
}

// `key = x and (key = x or (key = x and (...)))`: `chains` nested and/or groups.
std::string NestedChains(int chains) {
  if (chains == 0) return "key = x";
  return std::string("key = x ") + (chains % 2 ? "and" : "or") + " (" + NestedChains(chains - 1) +
         ")";
}

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(FilterErrors, DepthLimit) {
  const int max = kMaxFilterDepth;
  const std::string too_deep =
      "; at most 32 levels of parentheses, not, and/or are allowed; simplify the filter, e.g. "
      "use in (...) instead of nested or";
  EXPECT_TRUE(Parse(Repeat("(", max) + "key = a" + Repeat(")", max)).ok());
  EXPECT_EQ(Error(Repeat("(", max + 1) + "key = a" + Repeat(")", max + 1)),
            "filter: nested too deeply at column 33" + too_deep);
  EXPECT_TRUE(Parse(Repeat("not ", max) + "key = a").ok());
  EXPECT_EQ(Error(Repeat("not ", max + 1) + "key = a"),
            "filter: nested too deeply at column 129" + too_deep);
  EXPECT_TRUE(Parse(NestedChains(max)).ok());
  EXPECT_NE(Error(NestedChains(max + 1)).find("filter: nested too deeply at column "),
            std::string::npos);
  // A long flat chain is not deep.
  EXPECT_TRUE(Parse(Repeat("key = a or ", 300) + "key = b").ok());
  // A stack of parentheses far beyond the limit fails fast, without recursing.
  EXPECT_EQ(Error(Repeat("(", 4000)), "filter: nested too deeply at column 33" + too_deep);
}

// ToString -----------------------------------------------------------------------

TEST(FilterToString, RoundTrips) {
  const std::vector<std::string> filters = {
      "channel = \"payments.received\" and outcome = failed and recorded > -2h",
      "key ~ \"account:4*\" or error ~ \"timeout\"",
      "direction = out and payload.amount > 100",
      "outcome in (failed, skipped) and not header.tenant = \"acme\"",
      "id = 01JD8XKQ6V3M2N0P4R5S7T9W1Y or origin = 01JD8XKQ6V3M2N0P4R5S7T9W1Y or job = 17",
      "not (a.b = 1)",  // fails below: unknown field; kept out by the filter
      "key = 'x\\'y' or key = \"a\\\\b\" or key = \"\"",
      "payload.items[0].sku = \"A-1\" and header.X-Trace ~ \"ab*\"",
      "recorded >= 2026-11-23T10:00:00+02:00 and recorded < 2026-11-24",
      "outcome not in (ok, pending) or (attempt >= 3 and (variant = v1 or content_type ~ json))",
      "not not not key = a",
      "direction = in",
      "key = \"and\" or key = \"in\"",
  };
  for (const std::string& f : filters) {
    auto e = Parse(f);
    if (!e.ok()) {
      EXPECT_EQ(f, "not (a.b = 1)") << e.status().message();
      continue;
    }
    std::string once = ToString(**e);
    auto again = Parse(once);
    ASSERT_TRUE(again.ok()) << once << ": " << again.status().message();
    EXPECT_EQ(ToString(**again), once) << f;
  }
  // At the depth limit the canonical text still parses.
  for (const std::string& f :
       {NestedChains(kMaxFilterDepth), Repeat("not ", kMaxFilterDepth) + "key = a",
        Repeat("(", kMaxFilterDepth) + "key = a or key = b" + Repeat(")", kMaxFilterDepth)}) {
    auto e = Parse(f);
    ASSERT_TRUE(e.ok()) << e.status().message();
    auto again = Parse(ToString(**e));
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(ToString(**again), ToString(**e));
  }
}

TEST(FilterToString, QuotesHandBuiltValuesThatAreNotBareWords) {
  Expr e;
  e.node = Comparison{"key", Op::kEq, {Value{Value::Kind::kWord, "a b", 0}}, 0};
  EXPECT_EQ(ToString(e), "key = \"a b\"");
  e.node = Comparison{"key", Op::kEq, {Value{Value::Kind::kWord, "or", 0}}, 0};
  EXPECT_EQ(ToString(e), "key = \"or\"");
}

// Fields and keywords -----------------------------------------------------------------

TEST(FilterFields, TableCoversTheLanguage) {
  std::set<std::string> names;
  for (const FieldInfo& f : Fields()) {
    names.insert(f.name);
    EXPECT_FALSE(f.description.empty()) << f.name;
    EXPECT_EQ(f.is_prefix, f.name.back() == '.') << f.name;
    std::string probe = f.is_prefix ? f.name + "x = 1"
                                    : f.name + " = " +
                                          (f.name == "outcome"     ? "ok"
                                           : f.name == "direction" ? "in"
                                           : f.name == "recorded"  ? "-1h"
                                           : f.name == "resolved" || f.name == "latest" ? "true"
                                                                   : "1");
    EXPECT_TRUE(Parse(probe).ok()) << probe << ": " << Parse(probe).status().message();
  }
  for (const char* expected :
       {"id", "direction", "channel", "key", "correlation", "causation", "origin", "job", "outcome",
        "error", "recorded", "attempt", "variant", "content_type", "header.", "payload."}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  const std::vector<std::string>& kw = Keywords();
  for (const char* expected :
       {"and", "or", "not", "in", "out", "pending", "ok", "failed", "skipped"}) {
    EXPECT_NE(std::find(kw.begin(), kw.end(), expected), kw.end()) << expected;
  }
}

}  // namespace
}  // namespace reprise::filter
