#include "reprise/console/tokenizer.h"

#include <gtest/gtest.h>

#include "reprise/console/commands.h"

namespace reprise::console {
namespace {

std::vector<std::string> Texts(const TokenizedLine& line) {
  std::vector<std::string> out;
  for (const auto& t : line.tokens) out.push_back(t.text);
  return out;
}

TEST(TokenizerTest, SplitsOnWhitespace) {
  auto line = Tokenize("  find  outcome =\tfailed ");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(Texts(line), (std::vector<std::string>{"find", "outcome", "=", "failed"}));
}

TEST(TokenizerTest, EmptyAndBlankLinesHaveNoTokens) {
  EXPECT_TRUE(Tokenize("").tokens.empty());
  EXPECT_TRUE(Tokenize("   \t ").tokens.empty());
}

TEST(TokenizerTest, DoubleQuotesKeepSpacesAndResolveEscapes) {
  auto line = Tokenize(R"(find error ~ "time out \"x\" \\ y")");
  ASSERT_TRUE(line.ok());
  ASSERT_EQ(line.tokens.size(), 4u);
  EXPECT_EQ(line.tokens[3].text, R"(time out "x" \ y)");
  EXPECT_TRUE(line.tokens[3].quoted);
  EXPECT_FALSE(line.tokens[0].quoted);
}

TEST(TokenizerTest, SingleQuotesAreLiteral) {
  auto line = Tokenize(R"(show 'a\b "c"')");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line.tokens[1].text, R"(a\b "c")");
}

TEST(TokenizerTest, QuotedAndUnquotedPartsMakeOneWord) {
  auto line = Tokenize(R"(find key="account 4"x)");
  ASSERT_TRUE(line.ok());
  ASSERT_EQ(line.tokens.size(), 2u);
  EXPECT_EQ(line.tokens[1].text, "key=account 4x");
}

TEST(TokenizerTest, UnterminatedQuoteIsAnErrorWithItsColumn) {
  auto line = Tokenize(R"(find channel = "payments)");
  EXPECT_FALSE(line.ok());
  EXPECT_EQ(line.error, "unterminated quote \" at column 16");
}

TEST(TokenizerTest, SpansKeepTheTextAsWritten) {
  auto line = Tokenize(R"(find channel = "payments.received"   and key ~ 'a*' limit 5)");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line.Rest(1), R"(channel = "payments.received"   and key ~ 'a*' limit 5)");
  EXPECT_EQ(line.Span(1, line.tokens.size() - 2),
            R"(channel = "payments.received"   and key ~ 'a*')");
  EXPECT_EQ(line.Span(1, 1), "");
  EXPECT_EQ(line.Rest(99), "");
}

TEST(TokenizerTest, SplitCommandsAtSemicolonsOutsideQuotes) {
  EXPECT_EQ(SplitCommands(R"(status; find error ~ "a;b" ;; count by channel ; )"),
            (std::vector<std::string>{"status", R"(find error ~ "a;b")", "count by channel"}));
  EXPECT_TRUE(SplitCommands("  ;  ").empty());
  EXPECT_EQ(SplitCommands("find key = 'x;y'"), (std::vector<std::string>{"find key = 'x;y'"}));
}

TEST(TokenizerTest, ContinuationAfterBackslashOrInsideQuote) {
  EXPECT_TRUE(NeedsContinuation("find outcome = failed \\"));
  EXPECT_TRUE(NeedsContinuation("find error ~ \"open"));
  EXPECT_FALSE(NeedsContinuation("find error ~ \"closed\""));
  EXPECT_FALSE(NeedsContinuation("find error ~ \"escaped \\\" quote\""));
  EXPECT_FALSE(NeedsContinuation("status"));
}

TEST(TokenizerTest, BlankAndCommentLines) {
  EXPECT_TRUE(IsBlankOrComment(""));
  EXPECT_TRUE(IsBlankOrComment("   "));
  EXPECT_TRUE(IsBlankOrComment("  # find everything"));
  EXPECT_FALSE(IsBlankOrComment("find # not a comment"));
}

TEST(TrailingClauseTest, FindsKeywordAndValueAtTheEnd) {
  auto line = Tokenize("find outcome = failed limit 200");
  auto clause = ParseTrailingClause(line, "limit");
  ASSERT_TRUE(clause.value.has_value());
  EXPECT_EQ(*clause.value, "200");
  EXPECT_EQ(line.Span(1, clause.filter_end), "outcome = failed");
}

TEST(TrailingClauseTest, AbsentClauseLeavesTheWholeFilter) {
  auto line = Tokenize("count outcome = failed");
  auto clause = ParseTrailingClause(line, "by");
  EXPECT_FALSE(clause.value.has_value());
  EXPECT_TRUE(clause.error.empty());
  EXPECT_EQ(line.Span(1, clause.filter_end), "outcome = failed");
}

TEST(TrailingClauseTest, ClauseWithoutFilter) {
  auto line = Tokenize("count by channel");
  auto clause = ParseTrailingClause(line, "by");
  ASSERT_TRUE(clause.value.has_value());
  EXPECT_EQ(*clause.value, "channel");
  EXPECT_EQ(line.Span(1, clause.filter_end), "");
}

TEST(TrailingClauseTest, QuotedKeywordIsAValue) {
  auto line = Tokenize("find key = \"limit\" 5");
  EXPECT_FALSE(ParseTrailingClause(line, "limit").value.has_value());
}

TEST(TrailingClauseTest, KeywordWithoutValueIsAnError) {
  auto clause = ParseTrailingClause(Tokenize("find outcome = failed limit"), "limit");
  EXPECT_EQ(clause.error, "limit needs a value");
}

}  // namespace
}  // namespace reprise::console
