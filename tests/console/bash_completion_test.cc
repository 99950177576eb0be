// console/completion/reprise.bash, run by bash as the shell would: it offers
// every option that `reprise --help` lists.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "reprise/console/options.h"
#include "support/test_env.h"

namespace reprise::console {
namespace {

// COMPREPLY for the words typed so far (the last one is being completed).
std::set<std::string> Complete(const std::string& words) {
  std::string script = "source '" REPRISE_SOURCE_DIR "/console/completion/reprise.bash'\n"
                       "COMP_WORDS=(reprise " + words + ")\n"
                       "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                       "_reprise\n"
                       "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  auto r = testing::RunCommand({"/bin/bash", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> out;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

TEST(BashCompletionTest, OffersEveryLongOptionOfTheUsage) {
  std::set<std::string> usage;
  std::string text = UsageText();
  std::regex option("--[a-z][a-z-]*");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), option); it != std::sregex_iterator(); ++it) {
    usage.insert(it->str());
  }
  ASSERT_GT(usage.size(), 10u);
  EXPECT_EQ(Complete("--"), usage);
  EXPECT_EQ(Complete("--tls-c"), (std::set<std::string>{"--tls-ca", "--tls-cert"}));
}

TEST(BashCompletionTest, ValuesAndTheTokenCommand) {
  EXPECT_TRUE(Complete("--agent ''").empty());  // the user's own address
  EXPECT_EQ(Complete("to"), (std::set<std::string>{"token"}));
  EXPECT_EQ(Complete("token n"), (std::set<std::string>{"new"}));
  EXPECT_EQ(Complete("token new alice ''"), (std::set<std::string>{"viewer", "operator"}));
  std::string file = REPRISE_SOURCE_DIR "/console/completion/reprise.bash";
  EXPECT_EQ(Complete("--token-file " + file.substr(0, file.size() - 3)), (std::set<std::string>{file}));
}

}  // namespace
}  // namespace reprise::console
