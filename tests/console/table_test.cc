#include "reprise/console/table.h"

#include <gtest/gtest.h>

#include <sstream>

#include "reprise/console/format.h"

namespace reprise::console {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

Table Sample() {
  Table t({{.header = "id", .shrinkable = false},
           {.header = "count", .align = Table::Align::kRight},
           {.header = "error"}});
  t.AddRow({{"01ABC"}, {"7"}, {"connection refused by downstream after three attempts"}});
  t.AddRow({{"01ABD"}, {"12345"}, {""}});
  return t;
}

TEST(TableTest, NaturalWidthWhenItFits) {
  auto lines = Lines(Sample().Render(200));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "id     count  error");
  EXPECT_EQ(lines[1], "01ABC      7  connection refused by downstream after three attempts");
  EXPECT_EQ(lines[2], "01ABD  12345");  // no trailing blanks
}

// The words of `text` (split at blanks), in order.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(TableTest, WidestColumnWrapsUnderItselfToFit) {
  for (size_t width : {60u, 40u, 25u}) {
    std::string text = Sample().Render(width);
    auto lines = Lines(text);
    for (const auto& l : lines) EXPECT_LE(DisplayWidth(l), width) << l;
    EXPECT_GT(lines.size(), 3u) << text;
    EXPECT_EQ(lines[1].rfind("01ABC", 0), 0u) << "ids stay whole";
    // Every word is there, in order, and continuation lines start under the
    // error column (blank under id and count).
    const size_t error_col = lines[0].find("error");
    std::string error;
    for (size_t i = 1; i < lines.size() && lines[i].rfind("01ABD", 0) != 0; ++i) {
      if (i > 1) {
        EXPECT_EQ(lines[i].find_first_not_of(' '), error_col) << lines[i];
      }
      error += lines[i].substr(error_col) + " ";
    }
    EXPECT_EQ(Words(error), Words("connection refused by downstream after three attempts")) << text;
  }
}

TEST(TableTest, UnshrinkableColumnsWrapOnlyAsTheLastResort) {
  Table t({{.header = "id", .shrinkable = false}, {.header = "x", .min_width = 4}});
  t.AddRow({{std::string(30, 'i')}, {"abcdefgh"}});
  EXPECT_EQ(t.FitWidths(36), (std::vector<size_t>{30, 4}));  // x first, to its minimum
  auto lines = Lines(t.Render(10));
  for (const auto& l : lines) EXPECT_LE(DisplayWidth(l), 10u) << l;
  std::string id, x;
  for (size_t i = 1; i < lines.size(); ++i) {
    id += lines[i].substr(0, lines[i].find(' '));
    size_t rest = lines[i].find_first_not_of(' ', lines[i].find(' '));
    if (lines[i].find(' ') != std::string::npos && rest != std::string::npos) x += lines[i].substr(rest);
  }
  EXPECT_EQ(id, std::string(30, 'i'));
  EXPECT_EQ(x, "abcdefgh");
}

TEST(TableTest, ZeroWidthGivesEveryColumnOneAndLosesNothing) {
  Table t({{.header = "a"}, {.header = "b", .shrinkable = false}});
  t.AddRow({{"xy z"}, {"12"}});
  EXPECT_EQ(t.FitWidths(0), (std::vector<size_t>{1, 1}));
  EXPECT_EQ(t.Render(0), "a  b\nx  1\ny  2\nz\n");
}

TEST(TableTest, IndentIsPartOfTheWidthAndHeadlessTablesHaveNoHeaderRow) {
  Table t({{.header = ""}, {.header = ""}});
  t.AddRow({{"find [FILTER]"}, {"list messages matching a filter"}});
  std::string text = t.Render(30, 2);
  for (const auto& l : Lines(text)) {
    EXPECT_LE(DisplayWidth(l), 30u) << l;
    EXPECT_EQ(l.rfind("  ", 0), 0u) << l;
  }
  EXPECT_EQ(text.rfind("  find", 0), 0u) << text;
}

TEST(TableTest, CellsAreSanitizedForTheTerminal) {
  Table t({{.header = "error"}});
  t.AddRow({{"line one\nline two \x1b[31mred"}});
  auto lines = Lines(t.Render(200));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "line one\\nline two \\x1b[31mred");
}

TEST(TableTest, WideCharactersCountTwoColumns) {
  Table t({{.header = "key"}, {.header = "n"}});
  t.AddRow({{"口座:42"}, {"1"}});
  t.AddRow({{"abc"}, {"2"}});
  auto lines = Lines(t.Render(200));
  EXPECT_EQ(lines[1], "口座:42  1");
  EXPECT_EQ(lines[2], "abc      2");
}

TEST(TableTest, ColorsOnlyThroughOutput) {
  Table t({{.header = "outcome"}});
  t.AddRow({{"failed", Style::kRed}});
  std::ostringstream sink;
  Output colored(sink, sink, {.color = true});
  std::string text = t.Render(80, colored);
  EXPECT_NE(text.find("\033[31mfailed\033[0m"), std::string::npos);
  EXPECT_NE(text.find("\033[1moutcome\033[0m"), std::string::npos);
  EXPECT_EQ(t.Render(80).find('\033'), std::string::npos);
}

}  // namespace
}  // namespace reprise::console

namespace reprise::console {
namespace {

TEST(TableTest, ShrinkLastColumnsGiveWayAfterTheOthers) {
  Table t({{.header = "time", .min_width = 5, .shrink_last = true},
           {.header = "a", .min_width = 4},
           {.header = "b", .min_width = 4}});
  t.AddRow({{std::string(20, 't')}, {std::string(10, 'a')}, {std::string(10, 'b')}});
  // 20 + 10 + 10 + 4 = 44. At 36, only a and b shrink (the widest first).
  EXPECT_EQ(t.FitWidths(36), (std::vector<size_t>{20, 6, 6}));
  // At 24, a and b are at their minimum and time gives the rest.
  EXPECT_EQ(t.FitWidths(24), (std::vector<size_t>{12, 4, 4}));
  // Then, as the last resort, every column down to one.
  EXPECT_EQ(t.FitWidths(10), (std::vector<size_t>{2, 2, 2}));
}

TEST(TableTest, WordsStayWholeWhileAnyColumnCanGiveWithoutBreakingOne) {
  Table t({{.header = "channel", .min_width = 4}, {.header = "error", .min_width = 4}});
  t.AddRow({{"payments.received"}, {"handler for payments.received threw: boom"}});
  // 17 + 2 + 41 = 60. At 40 the error wraps at its words, down to its
  // longest (17), before the channel name breaks.
  EXPECT_EQ(t.FitWidths(40), (std::vector<size_t>{17, 21}));
  EXPECT_EQ(t.FitWidths(36), (std::vector<size_t>{17, 17}));
  EXPECT_EQ(t.FitWidths(30), (std::vector<size_t>{14, 14}));
}

}  // namespace
}  // namespace reprise::console
