#include "reprise/console/options.h"

#include <gtest/gtest.h>

namespace reprise::console {
namespace {

using namespace std::chrono_literals;

TEST(OptionsTest, Defaults) {
  auto p = ParseOptions({}, nullptr);
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.agent, "127.0.0.1:7070");
  EXPECT_FALSE(p.options.commands.has_value());
  EXPECT_FALSE(p.options.json);
  EXPECT_EQ(p.options.timeout, 10s);
}

TEST(OptionsTest, AllFlags) {
  auto p = ParseOptions({"--agent", "10.0.0.1:9000", "-c", "status", "--json", "--yes",
                         "--timeout", "2.5s"},
                        nullptr);
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.agent, "10.0.0.1:9000");
  EXPECT_EQ(p.options.commands, "status");
  EXPECT_TRUE(p.options.json);
  EXPECT_TRUE(p.options.yes);
  EXPECT_EQ(p.options.timeout, 2500ms);
}

TEST(OptionsTest, EqualsFormAndRepeatedCommands) {
  auto p = ParseOptions({"--agent=h:1", "-c", "status", "-c", "find"}, nullptr);
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.agent, "h:1");
  EXPECT_EQ(p.options.commands, "status; find");
}

TEST(OptionsTest, EnvironmentGivesTheDefaultAgentFlagWins) {
  EXPECT_EQ(ParseOptions({}, "envhost:1").options.agent, "envhost:1");
  EXPECT_EQ(ParseOptions({"--agent", "flag:2"}, "envhost:1").options.agent, "flag:2");
  EXPECT_EQ(ParseOptions({}, "").options.agent, "127.0.0.1:7070");
}

TEST(OptionsTest, HelpAndVersion) {
  EXPECT_TRUE(ParseOptions({"--help"}, nullptr).options.help);
  EXPECT_TRUE(ParseOptions({"-h"}, nullptr).options.help);
  EXPECT_TRUE(ParseOptions({"--version"}, nullptr).options.version);
  EXPECT_NE(UsageText().find("--agent HOST:PORT"), std::string::npos);
  EXPECT_NE(UsageText().find("3 the agent"), std::string::npos);
}

TEST(OptionsTest, UsageErrors) {
  EXPECT_EQ(ParseOptions({"--bogus"}, nullptr).error, "unknown option --bogus");
  EXPECT_EQ(ParseOptions({"-c"}, nullptr).error, "-c needs a value");
  EXPECT_EQ(ParseOptions({"--json=1"}, nullptr).error, "--json takes no value");
  EXPECT_NE(ParseOptions({"status"}, nullptr).error.find("use -c"), std::string::npos);
  EXPECT_NE(ParseOptions({"--timeout", "soon"}, nullptr).error.find("--timeout"),
            std::string::npos);
  EXPECT_NE(ParseOptions({"--agent", "nohost"}, nullptr).error.find("HOST:PORT"),
            std::string::npos);
}

TEST(OptionsTest, SecurityFlagsAndTheirMistakes) {
  auto p = ParseOptions({"--token-file", "t", "--tls-ca", "ca", "--tls-cert", "c", "--tls-key", "k"},
                        nullptr);
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.options.token_file, "t");
  EXPECT_EQ(p.options.tls_ca, "ca");
  EXPECT_EQ(p.options.tls_cert, "c");
  EXPECT_EQ(p.options.tls_key, "k");
  // A token as an argument would show in ps and shell history.
  EXPECT_NE(ParseOptions({"--token", "rpt_x"}, nullptr).error.find("--token-file"),
            std::string::npos);
  EXPECT_NE(ParseOptions({"--tls-cert", "c"}, nullptr).error.find("go together"),
            std::string::npos);
  EXPECT_NE(ParseOptions({"--tls-key", "k"}, nullptr).error.find("go together"),
            std::string::npos);
  // Each check stands on its own: fleet choices without --fleet are still
  // refused next to a complete TLS set-up.
  EXPECT_NE(ParseOptions({"--service", "s", "--tls-cert", "c", "--tls-key", "k"}, nullptr)
                .error.find("add --fleet"),
            std::string::npos);
  EXPECT_EQ(ParseOptions({"--fleet", "sqlite:f", "--service", "s", "--tls-ca", "ca"}, nullptr).error,
            "");
}

TEST(OptionsTest, Durations) {
  EXPECT_EQ(ParseTimeout("10"), 10s);
  EXPECT_EQ(ParseTimeout("500ms"), 500ms);
  EXPECT_EQ(ParseTimeout("1m"), 60s);
  EXPECT_EQ(ParseTimeout("0.25s"), 250ms);
  EXPECT_FALSE(ParseTimeout("").has_value());
  EXPECT_FALSE(ParseTimeout("0").has_value());
  EXPECT_FALSE(ParseTimeout("-1").has_value());
  EXPECT_FALSE(ParseTimeout("5h").has_value());
  EXPECT_FALSE(ParseTimeout("x").has_value());
}

}  // namespace
}  // namespace reprise::console
