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

TEST(TableTest, WidestColumnIsCutWithEllipsisToFit) {
  for (size_t width : {60u, 40u, 25u}) {
    auto lines = Lines(Sample().Render(width));
    for (const auto& l : lines) EXPECT_LE(DisplayWidth(l), width) << l;
    EXPECT_NE(lines[1].find("\xE2\x80\xA6"), std::string::npos) << lines[1];
    EXPECT_EQ(lines[1].rfind("01ABC", 0), 0u) << "ids are never cut";
  }
}

TEST(TableTest, ShrinksTheWidestFirst) {
  Table t({{.header = "a"}, {.header = "b"}});
  t.AddRow({{std::string(30, 'x')}, {std::string(10, 'y')}});
  auto widths = t.FitWidths(34);  // 30 + 2 + 10 = 42: take 8 from a
  EXPECT_EQ(widths, (std::vector<size_t>{22, 10}));
  widths = t.FitWidths(20);  // then both shrink, widest first
  EXPECT_EQ(widths[0] + widths[1] + 2, 20u);
  EXPECT_LE(widths[0] > widths[1] ? widths[0] - widths[1] : widths[1] - widths[0], 1u);
}

TEST(TableTest, OverflowsRatherThanCutUnshrinkableColumns) {
  Table t({{.header = "id", .shrinkable = false}, {.header = "x", .min_width = 4}});
  t.AddRow({{std::string(30, 'i')}, {"abcdefgh"}});
  auto lines = Lines(t.Render(10));
  EXPECT_EQ(lines[1], std::string(30, 'i') + "  abc\xE2\x80\xA6");
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
  EXPECT_EQ(t.FitWidths(10), (std::vector<size_t>{5, 4, 4}));
}

}  // namespace
}  // namespace reprise::console
