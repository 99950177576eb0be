#include "reprise/console/completion.h"

#include <gtest/gtest.h>

#include "reprise/console/commands.h"
#include "reprise/console/session.h"

namespace reprise::console {
namespace {

using Strings = std::vector<std::string>;

// The vocabulary a test-host agent would describe.
Vocabulary TestVocabulary() {
  v1::DescribeResponse d;
  for (const char* f : {"id", "direction", "channel", "key", "outcome", "error", "recorded"}) {
    d.add_filter_fields()->set_name(f);
  }
  auto* header = d.add_filter_fields();
  header->set_name("header.");
  header->set_is_prefix(true);
  for (const char* k : {"and", "or", "not", "in", "failed", "ok"}) d.add_filter_keywords(k);
  d.add_channels()->set_channel("payments.received");
  d.add_channels()->set_channel("payments.refunded");
  d.add_channels()->set_channel("balance.updated");
  return VocabularyFromDescribe(d);
}

class CompletionTest : public ::testing::Test {
 protected:
  CompletionTest() {
    RegisterBuiltinCommands(registry_);
    vocabulary_ = TestVocabulary();
  }
  Strings Candidates(std::string_view line) {
    return Complete(registry_, vocabulary_, line).candidates;
  }

  CommandRegistry registry_;
  Vocabulary vocabulary_;
};

TEST_F(CompletionTest, CommandNames) {
  EXPECT_EQ(Candidates("st"), (Strings{"status"}));
  EXPECT_EQ(Candidates("  co"), (Strings{"count"}));
  EXPECT_EQ(Candidates("  c"), (Strings{"cancel", "count"}));
  Strings all = Candidates("");
  for (const char* name : {"status", "find", "show", "count", "help", "quit", "exit"}) {
    EXPECT_NE(std::find(all.begin(), all.end(), name), all.end()) << name;
  }
  EXPECT_TRUE(Candidates("zz").empty());
}

TEST_F(CompletionTest, CommandNameAfterSemicolon) {
  EXPECT_EQ(Candidates("status; fi"), (Strings{"find"}));
}

TEST_F(CompletionTest, WordStartMatchesReadlineBreaks) {
  auto c = Complete(registry_, vocabulary_, "find channel=\"pay");
  EXPECT_EQ(c.word_start, 13u);  // after '='; quotes belong to the word
}

TEST_F(CompletionTest, FieldNamesAfterFindAndCount) {
  EXPECT_EQ(Candidates("find ch"), (Strings{"channel"}));
  EXPECT_EQ(Candidates("count ou"), (Strings{"outcome"}));
  Strings start = Candidates("find ");
  EXPECT_NE(std::find(start.begin(), start.end(), "key"), start.end());
  EXPECT_NE(std::find(start.begin(), start.end(), "not"), start.end());
  EXPECT_EQ(Candidates("find outcome = failed and di"), (Strings{"direction"}));
  EXPECT_EQ(Candidates("find not (ke"), (Strings{"key"}));
}

TEST_F(CompletionTest, PrefixFieldGetsNoTrailingSpace) {
  auto c = Complete(registry_, vocabulary_, "find hea");
  EXPECT_EQ(c.candidates, (Strings{"header."}));
  EXPECT_FALSE(c.append_space);
  EXPECT_TRUE(Complete(registry_, vocabulary_, "find cha").append_space);
}

TEST_F(CompletionTest, ChannelNamesAfterChannelOperator) {
  EXPECT_EQ(Candidates("find channel = "),
            (Strings{"\"balance.updated\"", "\"payments.received\"", "\"payments.refunded\""}));
  EXPECT_EQ(Candidates("find channel = bal"), (Strings{"\"balance.updated\""}));
  EXPECT_EQ(Candidates("find channel = \"payments.rec"), (Strings{"\"payments.received\""}));
  EXPECT_EQ(Candidates("find channel=bal"), (Strings{"\"balance.updated\""}));
  EXPECT_EQ(Candidates("count channel != pay"),
            (Strings{"\"payments.received\"", "\"payments.refunded\""}));
}

TEST_F(CompletionTest, ChannelNamesInsideInList) {
  EXPECT_EQ(Candidates("find channel in (bal"), (Strings{"\"balance.updated\""}));
  EXPECT_EQ(Candidates("find channel in (\"balance.updated\", pay"),
            (Strings{"\"payments.received\"", "\"payments.refunded\""}));
  EXPECT_EQ(Candidates("find outcome = ok and channel in ( \"a\" ,  bal"),
            (Strings{"\"balance.updated\""}));
}

TEST_F(CompletionTest, EnumValuesAfterOutcomeAndDirection) {
  EXPECT_EQ(Candidates("find outcome = f"), (Strings{"failed"}));
  EXPECT_EQ(Candidates("find outcome in (ok, s"), (Strings{"skipped"}));
  EXPECT_EQ(Candidates("find direction = "), (Strings{"in", "out"}));
  EXPECT_TRUE(Candidates("find key = ").empty());
}

TEST_F(CompletionTest, ConnectivesAndClausesAfterAValue) {
  EXPECT_EQ(Candidates("find outcome = failed "), (Strings{"and", "limit", "or"}));
  EXPECT_EQ(Candidates("find outcome = failed l"), (Strings{"limit"}));
  EXPECT_EQ(Candidates("count outcome = failed "), (Strings{"and", "by", "or"}));
  EXPECT_EQ(Candidates("find (key = \"a\" or key = \"b\") a"), (Strings{"and"}));
  EXPECT_TRUE(Candidates("find outcome = failed limit ").empty());
}

TEST_F(CompletionTest, FieldNamesAfterCountBy) {
  EXPECT_EQ(Candidates("count outcome = failed by ch"), (Strings{"channel"}));
  EXPECT_EQ(Candidates("count by ou"), (Strings{"outcome"}));
  EXPECT_EQ(Candidates("count b"), (Strings{"by"}));
}

TEST_F(CompletionTest, HelpCompletesCommandsAndTopics) {
  EXPECT_EQ(Candidates("help fi"), (Strings{"filter", "find"}));
  EXPECT_TRUE(Candidates("help find ").empty());
}

TEST_F(CompletionTest, NothingFancyForShowOrUnknownCommands) {
  EXPECT_TRUE(Candidates("show 01").empty());
  EXPECT_TRUE(Candidates("nope ch").empty());
}

TEST_F(CompletionTest, WithoutAnAgentOnlyCommandNames) {
  Vocabulary empty;
  EXPECT_EQ(Complete(registry_, empty, "sh").candidates, (Strings{"show"}));
  EXPECT_TRUE(Complete(registry_, empty, "find ch").candidates.empty());
}

TEST(VocabularyTest, BuiltFromDescribe) {
  Vocabulary v = TestVocabulary();
  EXPECT_EQ(v.channels.size(), 3u);
  EXPECT_EQ(v.values["outcome"], (Strings{"pending", "ok", "failed", "skipped"}));
  EXPECT_EQ(v.values["direction"], (Strings{"in", "out"}));
  EXPECT_EQ(v.values["channel"][0], "\"payments.received\"");
  ASSERT_EQ(v.fields.size(), 8u);
  EXPECT_TRUE(v.fields.back().is_prefix);
}

TEST_F(CompletionTest, KnobNamesArgumentsAndEnumValues) {
  vocabulary_.knobs["log.level"] = {{"level", {"debug", "info", "warn", "error"}}};
  vocabulary_.knobs["downstream.set"] = {{"failure_percent", {}}};
  EXPECT_EQ(Candidates("knob "), (Strings{"downstream.set", "log.level"}));
  EXPECT_EQ(Candidates("knob lo"), (Strings{"log.level"}));
  Completion args = Complete(registry_, vocabulary_, "knob downstream.set fa");
  EXPECT_EQ(args.candidates, (Strings{"failure_percent="}));
  EXPECT_FALSE(args.append_space) << "the value follows the =";
  EXPECT_EQ(Candidates("knob log.level level=d"), (Strings{"debug"}));
  EXPECT_TRUE(Candidates("knob log.level level=debug ").empty()) << "every argument given";
}

TEST_F(CompletionTest, RederiveAndMigrate) {
  vocabulary_.flows["ledger.rounding"] = {"v1", "v2"};
  vocabulary_.derivers = {"balance"};
  EXPECT_EQ(Candidates("rederive "), (Strings{"balance"}));
  EXPECT_EQ(Candidates("rederive balance "), (Strings{"dry-run", "where"}));
  EXPECT_EQ(Candidates("rederive balance account:7 d"), (Strings{"dry-run"}));
  EXPECT_EQ(Candidates("rederive balance where ch"), (Strings{"channel"}));
  EXPECT_EQ(Candidates("rederive balance where channel = bal"), (Strings{"\"balance.updated\""}));
  EXPECT_EQ(Candidates("migrate le"), (Strings{"ledger.rounding"}));
  EXPECT_EQ(Candidates("migrate ledger.rounding "), (Strings{"v1", "v2"}));
  EXPECT_EQ(Candidates("migrate ledger.rounding v2 "), (Strings{"percent", "where"}));
  EXPECT_EQ(Candidates("migrate ledger.rounding v2 account:7 s"), (Strings{"since"}));
  EXPECT_EQ(Candidates("migrate ledger.rounding v2 account:7 since "),
            (Strings{"-1d", "-1h", "-7d"}));
  EXPECT_EQ(Candidates("migrate ledger.rounding v2 where ke"), (Strings{"key"}));
  EXPECT_TRUE(Candidates("migrate ledger.rounding v2 percent ").empty());
}

TEST_F(CompletionTest, FlowsVariantsJobIdsAndReflowOptions) {
  vocabulary_.flows["ledger.rounding"] = {"v1", "v2"};
  EXPECT_EQ(Candidates("flow "), (Strings{"set", "show"}));
  EXPECT_EQ(Candidates("flow show le"), (Strings{"ledger.rounding"}));
  EXPECT_EQ(Candidates("flow set ledger.rounding def"), (Strings{"default="}));
  EXPECT_EQ(Candidates("flow set ledger.rounding default="), (Strings{"v1", "v2"}));
  EXPECT_EQ(Candidates("flow set ledger.rounding rollout="), (Strings{"v1:", "v2:"}));
  vocabulary_.job_ids = [] { return Strings{"1", "2", "12"}; };
  EXPECT_EQ(Candidates("watch 1"), (Strings{"1", "12"}));
  EXPECT_EQ(Candidates("cancel "), (Strings{"1", "12", "2"}));
  EXPECT_EQ(Candidates("reflow outcome = failed t"), (Strings{"to"}));
  EXPECT_EQ(Candidates("reflow outcome = failed to "), (Strings{"downstream", "self"}));
  EXPECT_EQ(Candidates("reflow outcome = failed d"), (Strings{"dry-run"}));
}

}  // namespace
}  // namespace reprise::console
