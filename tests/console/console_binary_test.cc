// The real `reprise` binary, through pipes, against a real agent (the
// reprise-test-host process with its seeded journal): -c, standard input,
// --json, plain output, exit statuses, an unreachable agent.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "console_harness.h"
#include "reprise/console/format.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::console {
namespace {

using testing::RunReprise;
using testing::LastColumnCells;
using testing::SplitLines;
using testing::Squeezed;

template <typename Proto>
Proto ParseJson(const std::string& line) {
  Proto proto;
  auto status = google::protobuf::util::JsonStringToMessage(line, &proto);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << line;
  return proto;
}

// One agent for the whole suite: the tests only read.
class ConsoleBinaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new testing::TestHost(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(host_->address().empty()) << "reprise-test-host did not start";
  }
  reprise::testing::CommandResult Reprise(const std::vector<std::string>& args,
                                          const std::string& input = "",
                                          std::vector<std::string> env = {}) {
    std::vector<std::string> all = {"--agent", host_->address()};
    all.insert(all.end(), args.begin(), args.end());
    env.push_back("TERM=xterm-256color");  // colors would be allowed on a terminal
    return RunReprise(all, input, env);
  }
  // The messages matching `filter`, through `--json find`.
  v1::ListMessagesResponse FindJson(const std::string& filter) {
    auto r = Reprise({"--json", "-c", "find " + filter + " limit 1000"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return ParseJson<v1::ListMessagesResponse>(r.out);
  }

  static testing::TestHost* host_;
};
testing::TestHost* ConsoleBinaryTest::host_ = nullptr;

TEST_F(ConsoleBinaryTest, StatusShowsTheAgentJournalAndChannels) {
  auto r = Reprise({"-c", "status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  for (const char* expected : {"service     test-host", "journal     sqlite:", "health ok",
                               "payments.received  in", "balance.updated    out",
                               "handlers    payments.received", "senders     balance.updated"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  }
}

TEST_F(ConsoleBinaryTest, OutputThroughAPipeIsPlain) {
  auto r = Reprise({"-c", "status; find; count by outcome; help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find('\033'), std::string::npos) << "no ANSI codes when not on a terminal";
}

TEST_F(ConsoleBinaryTest, FindFailedListsWhatCountCounts) {
  auto count = Reprise({"--json", "-c", "count outcome = failed"});
  ASSERT_EQ(count.exit_code, 0) << count.err;
  uint64_t failed = ParseJson<v1::CountMessagesResponse>(count.out).total();
  ASSERT_GT(failed, 0u) << "the test host seeds failures";

  // Wide enough for a line per row (FindFitsTheWidthGivenByColumns wraps).
  auto r = Reprise({"-c", "find outcome = failed"}, "", {"COLUMNS=250"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), failed + 1) << r.out;
  EXPECT_EQ(lines[0].rfind("id", 0), 0u);
  for (const char* column : {"recorded (UTC)", "dir", "channel", "key", "outcome", "error"}) {
    EXPECT_NE(lines[0].find(column), std::string::npos) << column;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_NE(lines[i].find("  failed  "), std::string::npos) << lines[i];
  }
  // Newest first: ULIDs sort by time.
  for (size_t i = 2; i < lines.size(); ++i) EXPECT_GT(lines[i - 1].substr(0, 26), lines[i].substr(0, 26));
}

TEST_F(ConsoleBinaryTest, FindLimitSaysHowToSeeMore) {
  auto r = Reprise({"-c", "find direction = in limit 3"}, "", {"COLUMNS=250"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[4], "-- 3 shown, more match; to see more: find direction = in limit 200 --");
}

TEST_F(ConsoleBinaryTest, FindFitsTheWidthGivenByColumns) {
  for (const char* columns : {"80", "120"}) {
    auto r = Reprise({"-c", "find"}, "", {std::string("COLUMNS=") + columns});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& line : SplitLines(r.out)) {
      EXPECT_LE(DisplayWidth(line), static_cast<size_t>(std::stoi(columns))) << line;
    }
  }
  // Narrow, the errors wrap under their column, whole.
  auto narrow = Reprise({"-c", "find outcome = failed"}, "", {"COLUMNS=80"});
  auto failed = FindJson("outcome = failed");
  auto errors = LastColumnCells(narrow.out, "error");
  ASSERT_EQ(errors.size(), static_cast<size_t>(failed.messages_size())) << narrow.out;
  for (int i = 0; i < failed.messages_size(); ++i) {
    EXPECT_EQ(Squeezed(errors[i]), Squeezed(failed.messages(i).error())) << narrow.out;
  }
  EXPECT_GT(SplitLines(narrow.out).size(), errors.size() + 1) << "some rows take more than a line";
}

TEST_F(ConsoleBinaryTest, ShowPrettyPrintsJsonPayloadWithHeaders) {
  auto failed = FindJson("channel = \"payments.received\" and outcome = failed and key = \"account:2\"");
  ASSERT_EQ(failed.messages_size(), 1) << "the seeded bad amount";
  auto r = Reprise({"-c", "show " + failed.messages(0).id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* expected :
       {"channel       payments.received\n", "outcome       failed\n",
        "error         invalid amount \"bad\": expected a decimal number\n", "headers (1)\n",
        "  tenant: acme\n", "payload (application/json, ", "{\n  \"payment_id\": \"p-5\",\n"
        "  \"amount\": \"bad\",\n  \"n\": 5\n}\n"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n---\n" << r.out;
  }
}

TEST_F(ConsoleBinaryTest, ShowHexDumpsBinaryPayloads) {
  auto blobs = FindJson("channel = \"blobs.received\"");
  ASSERT_EQ(blobs.messages_size(), 1);
  auto r = Reprise({"-c", "show " + blobs.messages(0).id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("00000000  00 01 02 ff fe 20 62 69  6e 61 72 79 20 7f 00     |..... binary ..|"),
            std::string::npos)
      << r.out;
}

TEST_F(ConsoleBinaryTest, ShowLineageBothWays) {
  auto out = FindJson("channel = \"balance.updated\"");
  ASSERT_GT(out.messages_size(), 0);
  const auto& effect = out.messages(0);
  ASSERT_FALSE(effect.causation_id().empty());
  auto r = Reprise({"-c", "show " + effect.id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t causes = r.out.find("causes, parent first (1)\n");
  ASSERT_NE(causes, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  " + effect.causation_id() + "  ", causes), std::string::npos) << r.out;

  auto back = Reprise({"-c", "show " + effect.causation_id()});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  size_t effects = back.out.find("effects (1)\n");
  ASSERT_NE(effects, std::string::npos) << back.out;
  EXPECT_NE(back.out.find("  " + effect.id() + "  ", effects), std::string::npos) << back.out;
  EXPECT_NE(back.out.find("reflowed copies (0)\n  none\n"), std::string::npos);
}

TEST_F(ConsoleBinaryTest, CountByChannelAddsUpToTheTotal) {
  auto r = Reprise({"-c", "count by channel"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = SplitLines(r.out);
  ASSERT_GE(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "channel            count  share");
  uint64_t sum = 0, total = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    std::string group;
    uint64_t n = 0;
    in >> group >> n;
    if (group == "total") {
      total = n;
    } else {
      sum += n;
    }
  }
  EXPECT_GT(total, 0u);
  EXPECT_EQ(sum, total) << r.out;
  EXPECT_NE(r.out.find("payments.received"), std::string::npos);
}

TEST_F(ConsoleBinaryTest, JsonIsOneDocumentPerCommand) {
  auto r = Reprise({"--json", "-c", "status; find outcome = failed limit 2; count by outcome; show " +
                                        FindJson("outcome = ok").messages(0).id()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  auto status = ParseJson<v1::DescribeResponse>(lines[0]);
  EXPECT_EQ(status.service(), "test-host");
  EXPECT_GT(status.channels_size(), 0);
  auto found = ParseJson<v1::ListMessagesResponse>(lines[1]);
  EXPECT_EQ(found.messages_size(), 2);
  EXPECT_FALSE(found.next_page_token().empty());
  auto counted = ParseJson<v1::CountMessagesResponse>(lines[2]);
  EXPECT_GT(counted.groups_size(), 1);
  auto shown = ParseJson<v1::GetMessageResponse>(lines[3]);
  EXPECT_EQ(shown.message().outcome(), v1::OK);
  EXPECT_FALSE(shown.message().payload().empty());
}

TEST_F(ConsoleBinaryTest, CommandsOnStandardInput) {
  auto r = Reprise({}, "# a script\n\ncount outcome = failed\n   # indented comment\ncount \\\n  by direction\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(" messages match\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("direction  count  share\n"), std::string::npos) << r.out;
}

TEST_F(ConsoleBinaryTest, StandardInputStopsAtTheFirstFailure) {
  auto r = Reprise({}, "count\nfind chanel = \"x\"\nstatus\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out.find("service"), std::string::npos) << "status must not run";
}

TEST_F(ConsoleBinaryTest, AgentErrorsExitOneWithTheMessageAsIs) {
  auto r = Reprise({"-c", "find chanel = \"payments.received\""});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("INVALID_ARGUMENT: filter: unknown field \"chanel\"", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("did you mean \"channel\"?"), std::string::npos) << r.err;

  auto missing = Reprise({"-c", "show 01ZZZZZZZZZZZZZZZZZZZZZZZZ"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("NOT_FOUND: ", 0), 0u) << missing.err;

  auto json = Reprise({"--json", "-c", "count by nosuchfield"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(json.out.rfind("{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":", 0), 0u)
      << json.out;
}

TEST_F(ConsoleBinaryTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Reprise({"-c", "fnid outcome = failed"}).exit_code, 2);
  EXPECT_EQ(Reprise({"-c", "show"}).exit_code, 2);
  EXPECT_EQ(Reprise({"-c", "find limit lots"}).exit_code, 2);
  auto bad_flag = Reprise({"--frobnicate"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("unknown option --frobnicate"), std::string::npos);
}

TEST_F(ConsoleBinaryTest, AgentAddressFromTheEnvironment) {
  auto r = RunReprise({"-c", "status"}, "", {"REPRISE_AGENT=" + host_->address()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("test-host"), std::string::npos);
}

TEST(ConsoleBinaryNoAgentTest, UnreachableAgentExitsThreeAndSaysWhatToDo) {
  std::string address = "127.0.0.1:" + std::to_string(reprise::testing::FreePort());
  for (const auto& input : {std::string(), std::string("status\n")}) {
    auto r = input.empty() ? RunReprise({"--agent", address, "-c", "find outcome = failed"})
                           : RunReprise({"--agent", address}, input);
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.err.rfind("cannot reach agent at " + address + ": ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find("is the service running? use --agent HOST:PORT"), std::string::npos)
        << r.err;
  }
}

TEST(ConsoleBinaryNoAgentTest, HelpVersionAndUsageNeedNoAgent) {
  std::string address = "127.0.0.1:" + std::to_string(reprise::testing::FreePort());
  auto help = RunReprise({"--agent", address, "-c", "help; help find; help filter"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("usage: find [FILTER] [limit N]"), std::string::npos);
  EXPECT_NE(help.out.find("connect to an agent to list its fields"), std::string::npos);
  auto version = RunReprise({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("reprise ", 0), 0u);
  auto usage = RunReprise({"--help"});
  EXPECT_EQ(usage.exit_code, 0);
  EXPECT_NE(usage.out.find("exit status"), std::string::npos);
}

TEST_F(ConsoleBinaryTest, HelpFilterListsTheAgentsFields) {
  auto r = Reprise({"-c", "help filter"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Fields:\nfield"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nchannel "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("header.NAME"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace reprise::console
