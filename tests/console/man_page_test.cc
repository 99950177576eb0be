#include "reprise/console/man_page.h"

#include <gtest/gtest.h>

#include "reprise/base/version.h"
#include "reprise/console/commands.h"
#include "reprise/console/options.h"

namespace reprise::console {
namespace {

CommandStatus Noop(Session&, const TokenizedLine&) { return CommandStatus::Ok(); }

TEST(ManPageTest, ListsEveryBuiltinCommandWithItsHelp) {
  CommandRegistry registry;
  RegisterBuiltinCommands(registry);
  std::string page = ManPage(registry);
  EXPECT_EQ(page.rfind(std::string(".TH REPRISE 1 \"\" \"reprise ") + kVersion, 0), 0u) << page;
  ASSERT_GT(registry.commands().size(), 10u);
  for (const Command& c : registry.commands()) {
    EXPECT_NE(page.find("\n.SS " + c.name + "\n.nf\nusage: " + c.name), std::string::npos) << c.name;
  }
  EXPECT_NE(page.find("\\-\\-agent HOST:PORT"), std::string::npos);  // the options, from --help
}

TEST(ManPageTest, HelpTextCannotBecomeRoffRequests) {
  CommandRegistry registry;
  registry.Add({.name = "dots",
                .summary = "a summary",
                .help = ".SH NOT A SECTION\n'also not\nback\\slash and --flag",
                .needs_agent = false,
                .handler = Noop});
  std::string page = ManPage(registry);
  EXPECT_NE(page.find("\n\\&.SH NOT A SECTION\n\\&'also not\nback\\eslash and \\-\\-flag\n"),
            std::string::npos)
      << page;
  EXPECT_EQ(page.find("\n.SH NOT"), std::string::npos);
}

TEST(ManPageTest, TheHiddenOptionAsksForIt) {
  EXPECT_TRUE(ParseOptions({"--man"}, nullptr).options.man);
  EXPECT_EQ(UsageText().find("--man"), std::string::npos);
}

}  // namespace
}  // namespace reprise::console
