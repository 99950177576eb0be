#include "reprise/console/command_registry.h"

#include <gtest/gtest.h>

#include <sstream>

#include "reprise/console/commands.h"
#include "reprise/console/session.h"
#include "reprise/console/shell.h"
#include "reprise/v1/access.h"

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
  std::string overview = r.Overview(100);
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
    EXPECT_NE(r.Overview(1000).find(c->summary), std::string::npos) << name;  // one line each
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

// Which commands change state is not a list kept here: each names the API
// methods it calls, and agent.proto's `access` option on those decides.
TEST(BuiltinCommandsTest, EachChangesStateExactlyWhenAnRpcItCallsIsMutate) {
  CommandRegistry r;
  RegisterBuiltinCommands(r);
  const google::protobuf::ServiceDescriptor& service = AgentServiceDescriptor();
  for (const auto& c : r.commands()) {
    if (c.needs_agent) {
      EXPECT_FALSE(c.rpcs.empty()) << c.name << " names no RPC";
    }
    bool any_mutate = false;
    for (const auto& rpc : c.rpcs) {
      const auto* method = service.FindMethodByName(rpc);
      ASSERT_NE(method, nullptr) << c.name << " calls " << rpc;
      any_mutate = any_mutate || method->options().GetExtension(v1::access) == v1::MUTATE;
    }
    EXPECT_EQ(c.mutates, any_mutate) << c.name;
  }
}

TEST(BuiltinCommandsTest, HelpNamesTheMethodsThatChangeState) {
  CommandRegistry r;
  RegisterBuiltinCommands(r);
  // `flow show` only reads; `flow set` calls SetFlow.
  std::string flow = r.HelpFor("flow");
  EXPECT_NE(
      flow.find("\nSetFlow changes state: the agent records each call of it in its audit log.\n"),
      std::string::npos)
      << flow;
  EXPECT_EQ(flow.find("GetFlow change"), std::string::npos) << flow;
  EXPECT_NE(r.HelpFor("cancel").find("\nCancelJob changes state:"), std::string::npos);
  EXPECT_EQ(r.HelpFor("flows").find("changes state"), std::string::npos);
  EXPECT_EQ(r.HelpFor("watch").find("changes state"), std::string::npos);
}

TEST(CommandRegistryDeathTest, AnRpcAgentProtoLacksAborts) {
  CommandRegistry r;
  EXPECT_DEATH(r.Add({.name = "poke", .rpcs = {"Poke"}, .handler = Noop}),
               "\"poke\" calls Poke, which agent.proto lacks");
}

// Only a command that changes state asks for confirmation, and only on a
// terminal without --yes.
TEST(CommandRegistryTest, ConfirmationAsksOnlyForCommandsThatChangeState) {
  std::ostringstream out, err;
  Output output(out, err, {.width = 100});
  AgentClient agent("127.0.0.1:1", std::chrono::seconds(1));
  NoPager pager;
  std::map<std::string, bool> asked;
  auto record = [&](Session& s, const TokenizedLine& line) {
    asked[line.tokens[0].text] = s.asks();
    return CommandStatus::Ok();
  };
  CommandRegistry r;
  r.Add({.name = "jobs", .rpcs = {"ListJobs"}, .needs_agent = false, .handler = record});
  r.Add({.name = "cancel", .rpcs = {"GetJob", "CancelJob"}, .needs_agent = false,
         .handler = record});
  for (SessionOptions options : {SessionOptions{.terminal = true},
                                 SessionOptions{.assume_yes = true, .terminal = true},
                                 SessionOptions{}}) {
    Session session(r, output, agent, pager, options);
    Shell shell(session);
    ASSERT_TRUE(shell.Execute("jobs; cancel").ok());
    EXPECT_FALSE(asked["jobs"]);
    EXPECT_EQ(asked["cancel"], options.terminal && !options.assume_yes);
    EXPECT_FALSE(session.asks()) << "no command runs";
    EXPECT_TRUE(session.Confirm("Really?")) << "answered yes without asking";
  }
  EXPECT_EQ(out.str().find("Really?"), std::string::npos) << out.str();
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
