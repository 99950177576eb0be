#include "reprise/console/format.h"

#include <gtest/gtest.h>

namespace reprise::console {
namespace {

TEST(PrettyJsonTest, IndentsObjectsAndArraysKeepingOrderAndNumbers) {
  auto out = PrettyJson(R"({"z":1,"a":[1.50,-2e10,true,null],"o":{},"e":[],"s":"x\"y"})");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out,
            "{\n"
            "  \"z\": 1,\n"
            "  \"a\": [\n"
            "    1.50,\n"
            "    -2e10,\n"
            "    true,\n"
            "    null\n"
            "  ],\n"
            "  \"o\": {},\n"
            "  \"e\": [],\n"
            "  \"s\": \"x\\\"y\"\n"
            "}");
}

TEST(PrettyJsonTest, AcceptsWhitespaceAndScalars) {
  EXPECT_EQ(PrettyJson(" \n{ \"a\" :\t1 }\r\n"), "{\n  \"a\": 1\n}");
  EXPECT_EQ(PrettyJson("42"), "42");
  EXPECT_EQ(PrettyJson("\"text\""), "\"text\"");
  EXPECT_EQ(PrettyJson(R"({"u":"caf\u00e9 ☕"})"), "{\n  \"u\": \"caf\\u00e9 ☕\"\n}");
}

TEST(PrettyJsonTest, RejectsWhatIsNotJson) {
  for (const char* bad : {"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "{'a':1}", "01", "1.",
                          "-", "tru", "\"unterminated", "{\"a\":1}x", "hello", "[1 2]",
                          "\"bad \\q escape\"", "\"\\u12\""}) {
    EXPECT_FALSE(PrettyJson(bad).has_value()) << bad;
  }
  EXPECT_FALSE(PrettyJson(std::string("\"raw \n newline\"")).has_value());
  EXPECT_FALSE(PrettyJson(std::string("\"\xff\xfe\"", 4)).has_value()) << "invalid UTF-8";
  EXPECT_FALSE(PrettyJson(std::string("\"\xc0\xaf\"", 4)).has_value()) << "overlong UTF-8";
}

TEST(PrettyJsonTest, DeepNestingIsRejectedNotACrash) {
  std::string deep(100000, '[');
  EXPECT_FALSE(PrettyJson(deep).has_value());
  std::string ok = std::string(50, '[') + std::string(50, ']');
  EXPECT_TRUE(PrettyJson(ok).has_value());
}

TEST(PrettyJsonTest, EscapesC1ControlsSoPayloadsCannotDriveTheTerminal) {
  auto out = PrettyJson("\"a\xc2\x9b" "31mb\x7f\"");
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, "\"a\\u009b31mb\\u007f\"");
}

TEST(HexDumpTest, OffsetHexAndAscii) {
  std::string bytes("\x00\x01\x02\xff\xfe binary \x7f", 15);
  EXPECT_EQ(HexDump(bytes),
            "00000000  00 01 02 ff fe 20 62 69  6e 61 72 79 20 7f 00     |..... binary ..|\n");
}

TEST(HexDumpTest, SeveralLinesAndTruncation) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) bytes += static_cast<char>('A' + i % 26);
  std::string dump = HexDump(bytes, 32);
  EXPECT_EQ(dump,
            "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n"
            "00000010  51 52 53 54 55 56 57 58  59 5a 41 42 43 44 45 46  |QRSTUVWXYZABCDEF|\n"
            "... 8 more bytes not shown\n");
  EXPECT_EQ(HexDump(""), "");
}

TEST(FormatTest, AsciiLowerLeavesOtherBytes) {
  EXPECT_EQ(AsciiLower("FAILED"), "failed");
  EXPECT_EQ(AsciiLower("Grüße_OK-2"), "grüße_ok-2");
}

TEST(FormatTest, PrintableText) {
  EXPECT_TRUE(IsPrintableText("hello\tworld\n"));
  EXPECT_TRUE(IsPrintableText("grüße"));
  EXPECT_FALSE(IsPrintableText("esc \x1b[2J"));
  EXPECT_FALSE(IsPrintableText(std::string("nul\0", 4)));
  EXPECT_FALSE(IsPrintableText("\xff"));
}

TEST(FormatTest, FirstInvalidUtf8) {
  EXPECT_EQ(FirstInvalidUtf8("grüße \xe2\x82\xac"), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8(""), std::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("ab\xff"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("\xc3"), 0u);              // truncated sequence
  EXPECT_EQ(FirstInvalidUtf8("x\xc0\xaf"), 1u);        // overlong "/"
  EXPECT_EQ(FirstInvalidUtf8("\xed\xa0\x80"), 0u);     // a surrogate
}

TEST(FormatTest, TimestampsInUtcWithMilliseconds) {
  EXPECT_EQ(FormatTimestamp(1732348512, 345678901), "2024-11-23 07:55:12.345");
  EXPECT_EQ(FormatTimestamp(0, 0), "");
}

TEST(FormatTest, Durations) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(42), "42s");
  EXPECT_EQ(FormatDuration(303), "5m 3s");
  EXPECT_EQ(FormatDuration(3600), "1h");
  EXPECT_EQ(FormatDuration(2 * 86400 + 3 * 3600 + 4 * 60 + 5), "2d 3h 4m 5s");
}

TEST(FormatTest, JsonQuote) {
  EXPECT_EQ(JsonQuote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(FormatTest, SanitizeForTerminal) {
  EXPECT_EQ(SanitizeForTerminal("plain grüße"), "plain grüße");
  EXPECT_EQ(SanitizeForTerminal("a\nb\tc\r"), "a\\nb\\tc\\r");
  EXPECT_EQ(SanitizeForTerminal("\x1b[2J"), "\\x1b[2J");
  EXPECT_EQ(SanitizeForTerminal("\xc2\x9b" "31m"), "\\xc2\\x9b31m");
  EXPECT_EQ(SanitizeForTerminal("bad \xff"), "bad \\xff");
}

TEST(FormatTest, WidthAndTruncation) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("grüße"), 5u);
  EXPECT_EQ(DisplayWidth("日本"), 4u);
  EXPECT_EQ(TruncateToWidth("abcdef", 6), "abcdef");
  EXPECT_EQ(TruncateToWidth("abcdef", 4), "abc\xE2\x80\xA6");
  EXPECT_EQ(TruncateToWidth("日本語", 4), "日\xE2\x80\xA6");
  EXPECT_EQ(TruncateToWidth("abc", 0), "");
}

}  // namespace
}  // namespace reprise::console

namespace reprise::console {
namespace {

TEST(WrapToWidthTest, BreaksAtWordBoundaries) {
  EXPECT_EQ(WrapToWidth("the quick brown fox", 10), (std::vector<std::string>{"the quick", "brown fox"}));
  EXPECT_EQ(WrapToWidth("the quick brown fox", 9), (std::vector<std::string>{"the quick", "brown fox"}));
  EXPECT_EQ(WrapToWidth("the quick brown fox", 8), (std::vector<std::string>{"the", "quick", "brown", "fox"}));
  EXPECT_EQ(WrapToWidth("fits  as  is", 20), (std::vector<std::string>{"fits  as  is"}));
  // Blanks at a break go; leading blanks stay.
  EXPECT_EQ(WrapToWidth("  ab    cd  ", 5), (std::vector<std::string>{"  ab", "cd"}));
}

TEST(WrapToWidthTest, BreaksAWordLongerThanTheLineInsideIt) {
  EXPECT_EQ(WrapToWidth("a 0123456789 b", 4), (std::vector<std::string>{"a", "0123", "4567", "89 b"}));
  // Between code points, wide ones counting two.
  EXPECT_EQ(WrapToWidth("日本語です", 4), (std::vector<std::string>{"日本", "語で", "す"}));
  EXPECT_EQ(WrapToWidth("aé日", 2), (std::vector<std::string>{"aé", "日"}));
}

TEST(WrapToWidthTest, ZeroWidthAndEmptyTextEnd) {
  EXPECT_EQ(WrapToWidth("ab c", 0), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(WrapToWidth("", 0), (std::vector<std::string>{""}));
  EXPECT_EQ(WrapToWidth("", 10), (std::vector<std::string>{""}));
  EXPECT_EQ(WrapToWidth("   ", 10), (std::vector<std::string>{""}));
}

TEST(WrapTextTest, WrapsOnlyLongLinesAndKeepsTheirIndent) {
  EXPECT_EQ(WrapText("short\n    one two three four\nend\n", 14),
            "short\n    one two\n    three four\nend\n");
  EXPECT_EQ(WrapText("", 10), "");
  EXPECT_EQ(WrapText("no newline at the end", 10), "no newline\nat the end");
}

}  // namespace
}  // namespace reprise::console
