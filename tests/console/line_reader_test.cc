#include "reprise/console/line_reader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

namespace reprise::console {
namespace {

TEST(StreamLineReaderTest, ReadsLinesUntilEof) {
  std::istringstream in("status\r\nfind outcome = failed\n\nlast");
  StreamLineReader reader(in);
  EXPECT_EQ(reader.ReadLine("> "), "status");
  EXPECT_EQ(reader.ReadLine("> "), "find outcome = failed");
  EXPECT_EQ(reader.ReadLine("> "), "");
  EXPECT_EQ(reader.ReadLine("> "), "last");
  EXPECT_EQ(reader.ReadLine("> "), std::nullopt);
}

TEST(ReadCommandTest, JoinsContinuationLinesIntoOneCommand) {
  std::istringstream in("find outcome = failed \\\n  and channel = \"a\"\nstatus\n");
  StreamLineReader reader(in);
  EXPECT_EQ(ReadCommand(reader, "> ", "... "),
            "find outcome = failed    and channel = \"a\"");
  EXPECT_EQ(ReadCommand(reader, "> ", "... "), "status");
  EXPECT_EQ(ReadCommand(reader, "> ", "... "), std::nullopt);
}

TEST(ReadCommandTest, OpenQuoteContinues) {
  std::istringstream in("find error ~ \"time\nout\"\n");
  StreamLineReader reader(in);
  EXPECT_EQ(ReadCommand(reader, "", ""), "find error ~ \"time out\"");
}

TEST(ReadCommandTest, EofInsideContinuationReturnsWhatWasRead) {
  std::istringstream in("find \\\n");
  StreamLineReader reader(in);
  EXPECT_EQ(ReadCommand(reader, "", ""), "find ");
}

TEST(HistoryPathTest, EnvironmentOverridesHome) {
  ::setenv("REPRISE_HISTORY", "/tmp/some-history", 1);
  EXPECT_EQ(DefaultHistoryPath(), "/tmp/some-history");
  ::unsetenv("REPRISE_HISTORY");
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home ? old_home : "";
  ::setenv("HOME", "/home/op", 1);
  EXPECT_EQ(DefaultHistoryPath(), "/home/op/.reprise_history");
  if (old_home) ::setenv("HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace reprise::console
