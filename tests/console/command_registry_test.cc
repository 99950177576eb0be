#include "reprise/console/command_registry.h"

#include <gtest/gtest.h>

#include "reprise/console/commands.h"

namespace reprise::console {
namespace {

CommandStatus Noop(Session&, const TokenizedLine&) { return CommandStatus::Ok(); }

CommandRegistry SmallRegistry() {
  CommandRegistry r;
  r.Add({.name = "find", .synopsis = "[FILTER]", .summary = "list messages",
         .help = "Long help of find.", .handler = Noop});
  r.Add({.name = "reflow", .synopsis = "FILTER", .summary = "replay messages",
         .help = "Long help of reflow.", .mutates = true, .handler = Noop});
  r.Add({.name = "quit", .summary = "leave", .needs_agent = false, .aliases = {"exit"},
         .handler = Noop});
  return r;
}

TEST(CommandRegistryTest, FindsByNameAndAlias) {
  auto r = SmallRegistry();
  ASSERT_NE(r.Find("find"), nullptr);
  EXPECT_EQ(r.Find("exit"), r.Find("quit"));
  EXPECT_EQ(r.Find("fin"), nullptr);
  EXPECT_EQ(r.Names(), (std::vector<std::string>{"exit", "find", "quit", "reflow"}));
}

TEST(CommandRegistryTest, OverviewListsEveryCommandInRegistrationOrder) {
  auto r = SmallRegistry();
  std::string overview = r.Overview();
  size_t find = overview.find("  find [FILTER]");
  size_t reflow = overview.find("  reflow FILTER");
  size_t quit = overview.find("  quit");
  ASSERT_NE(find, std::string::npos) << overview;
  ASSERT_NE(reflow, std::string::npos) << overview;
  ASSERT_NE(quit, std::string::npos) << overview;
  EXPECT_LT(find, reflow);
  EXPECT_LT(reflow, quit);
  EXPECT_NE(overview.find("list messages"), std::string::npos);
}

TEST(CommandRegistryTest, HelpForShowsUsageHelpAliasesAndMutation) {
  auto r = SmallRegistry();
  std::string find = r.HelpFor("find");
  EXPECT_EQ(find.rfind("usage: find [FILTER]\n", 0), 0u) << find;
  EXPECT_NE(find.find("Long help of find."), std::string::npos);
  EXPECT_EQ(find.find("changes state"), std::string::npos);
  EXPECT_NE(r.HelpFor("reflow").find("changes state"), std::string::npos);
  EXPECT_NE(r.HelpFor("exit").find("aliases: exit"), std::string::npos);
  EXPECT_EQ(r.HelpFor("nope"), "");
}

TEST(CommandRegistryTest, SuggestsCloseNames) {
  auto r = SmallRegistry();
  EXPECT_EQ(r.Suggest("fnid"), "find");
  EXPECT_EQ(r.Suggest("reflw"), "reflow");
  EXPECT_EQ(r.Suggest("xyzzy"), "");
}

TEST(CommandRegistryDeathTest, DuplicateNamesAbort) {
  auto r = SmallRegistry();
  EXPECT_DEATH(r.Add({.name = "exit", .handler = Noop}), "duplicate console command");
}

TEST(BuiltinCommandsTest, EveryCommandIsDocumented) {
  CommandRegistry r;
  RegisterBuiltinCommands(r);
  for (const char* name : {"status", "find", "show", "count", "help", "quit"}) {
    const Command* c = r.Find(name);
    ASSERT_NE(c, nullptr) << name;
    EXPECT_FALSE(c->summary.empty()) << name;
    EXPECT_NE(r.Overview().find(c->summary), std::string::npos) << name;
  }
  for (const auto& c : r.commands()) {
    if (c.name != "quit") {
      EXPECT_FALSE(c.help.empty()) << c.name;
    }
    const bool mutates = c.name == "reflow" || c.name == "cancel" || c.name == "knob" ||
                         c.name == "flow" || c.name == "rederive" || c.name == "migrate";
    EXPECT_EQ(c.mutates, mutates) << c.name;
  }
  for (const char* name : {"trace", "reflow", "jobs", "watch", "cancel", "export", "knobs",
                           "knob", "audit", "flows", "flow", "rederive", "migrate"}) {
    EXPECT_NE(r.Find(name), nullptr) << name;
  }
  EXPECT_FALSE(r.Find("help")->needs_agent);
  EXPECT_TRUE(r.Find("find")->needs_agent);
}

TEST(ExitCodeTest, MapsCodesToDocumentedStatuses) {
  EXPECT_EQ(ExitCode(CommandStatus::Ok()), 0);
  EXPECT_EQ(ExitCode({CommandCode::kQuit, "", ""}), 0);
  EXPECT_EQ(ExitCode(CommandStatus::Failed("x")), 1);
  EXPECT_EQ(ExitCode(CommandStatus::Usage("x")), 2);
  EXPECT_EQ(ExitCode({CommandCode::kUnreachable, "x", ""}), 3);
}

}  // namespace
}  // namespace reprise::console
