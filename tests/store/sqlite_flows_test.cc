#include <gtest/gtest.h>

#include "reprise/store/flow.h"
#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

class SqliteFlowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = Journal::Open("sqlite:" + path_);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    journal_ = std::move(*j);
    auto f = flows().Declare("ledger.rounding", {"v1", "v2"}, "v1");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
  }
  FlowStore& flows() { return journal_->flows(); }

  testing::TempDir dir_;
  std::string path_ = dir_.File("flows.journal");
  std::unique_ptr<Journal> journal_;
};

TEST_F(SqliteFlowsTest, DeclareCreatesVersionOneWithHistory) {
  auto f = flows().Get("ledger.rounding");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->variants, (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(f->default_variant, "v1");
  EXPECT_EQ(f->version, 1);
  EXPECT_EQ(f->rollout.percent, 0);
  auto h = flows().History("ledger.rounding", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].version, 1);
  EXPECT_EQ((*h)[0].who, "code");
  EXPECT_NE((*h)[0].change.find("\"declared\""), std::string::npos);
}

TEST_F(SqliteFlowsTest, DeclareValidates) {
  EXPECT_EQ(flows().Declare("bad name", {"v1"}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {"v1", "v1"}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {"v1", "v,2"}, "v1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(flows().Declare("f", {"v1"}, "v2").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteFlowsTest, ApplyVersionsEveryChangeWithHistory) {
  auto f = flows().Apply({.flow = "ledger.rounding",
                          .default_variant = "v2",
                          .who = "alice",
                          .reason = "fix rounding"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version, 2);
  EXPECT_EQ(f->default_variant, "v2");
  EXPECT_EQ(f->updated_by, "alice");
  EXPECT_EQ(f->reason, "fix rounding");

  f = flows().Apply({.flow = "ledger.rounding",
                     .assign = {{"account:1", "v1"}, {"account:2", "v2"}},
                     .rollout = FlowRollout{"v2", 25},
                     .who = "bob"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version, 3);
  EXPECT_EQ(f->default_variant, "v2");  // unchanged
  EXPECT_EQ(f->rollout.variant, "v2");
  EXPECT_EQ(f->rollout.percent, 25);
  EXPECT_EQ(f->assignments, 2u);

  f = flows().Apply({.flow = "ledger.rounding", .unassign = {"account:1"}, .who = "bob"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->version, 4);
  EXPECT_EQ(f->assignments, 1u);
  EXPECT_EQ(f->rollout.percent, 25);  // unchanged

  auto h = flows().History("ledger.rounding", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 4u);
  EXPECT_EQ((*h)[0].version, 4);
  EXPECT_EQ((*h)[0].change, "{\"unassign\":[\"account:1\"]}");
  EXPECT_EQ((*h)[1].change,
            "{\"rollout\":{\"variant\":\"v2\",\"percent\":25},"
            "\"assign\":{\"account:1\":\"v1\",\"account:2\":\"v2\"}}");
  EXPECT_EQ((*h)[2].change, "{\"default\":{\"from\":\"v1\",\"to\":\"v2\"}}");
  EXPECT_EQ((*h)[2].who, "alice");
  EXPECT_EQ((*h)[2].reason, "fix rounding");

  // Percent 0 clears the rollout.
  f = flows().Apply({.flow = "ledger.rounding", .rollout = FlowRollout{"v2", 0}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->rollout.variant, "");
  EXPECT_EQ(f->rollout.percent, 0);
}

TEST_F(SqliteFlowsTest, ApplyValidatesAndChangesNothingOnError) {
  auto st = flows().Apply({.flow = "ledger.roundin", .default_variant = "v2"}).status();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("did you mean \"ledger.rounding\""), std::string::npos) << st.message();

  st = flows().Apply({.flow = "ledger.rounding", .assign = {{"account:1", "v3"}}}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("its variants are v1,v2"), std::string::npos) << st.message();

  st = flows().Apply({.flow = "ledger.rounding", .rollout = FlowRollout{"v2", 101}}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("outside 0..100"), std::string::npos) << st.message();
  st = flows().Apply({.flow = "ledger.rounding", .rollout = FlowRollout{"v2", -1}}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);

  st = flows().Apply({.flow = "ledger.rounding"}).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);

  auto f = flows().Get("ledger.rounding");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->version, 1);
  EXPECT_EQ(f->assignments, 0u);
}

TEST_F(SqliteFlowsTest, DeclareAgainNeverOverwritesOperatorChoices) {
  ASSERT_TRUE(flows()
                  .Apply({.flow = "ledger.rounding",
                          .default_variant = "v2",
                          .assign = {{"account:7", "v1"}},
                          .rollout = FlowRollout{"v2", 50}})
                  .ok());
  auto counter = flows().ChangeCounter();
  ASSERT_TRUE(counter.ok());
  // A restart of the code (here: a new journal handle) declares again, now with v3.
  journal_.reset();
  auto j = Journal::Open("sqlite:" + path_);
  ASSERT_TRUE(j.ok());
  journal_ = std::move(*j);
  auto f = flows().Declare("ledger.rounding", {"v1", "v2", "v3"}, "v1");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->variants, (std::vector<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(f->default_variant, "v2");
  EXPECT_EQ(f->rollout.percent, 50);
  EXPECT_EQ(f->assignments, 1u);
  EXPECT_EQ(f->version, 2);
  EXPECT_EQ(*flows().ChangeCounter(), *counter);  // nothing to reload
}

TEST_F(SqliteFlowsTest, ChangeCounterMovesOnEveryChange) {
  auto c1 = flows().ChangeCounter();
  ASSERT_TRUE(c1.ok());
  ASSERT_TRUE(flows().Declare("other.flow", {"a", "b"}, "a").ok());
  auto c2 = flows().ChangeCounter();
  EXPECT_GT(*c2, *c1);
  ASSERT_TRUE(flows().Apply({.flow = "other.flow", .default_variant = "b"}).ok());
  EXPECT_GT(*flows().ChangeCounter(), *c2);
  auto list = flows().List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "ledger.rounding");
  EXPECT_EQ((*list)[1].name, "other.flow");
}

TEST_F(SqliteFlowsTest, AssignmentsPageByKey) {
  FlowChange c{.flow = "ledger.rounding"};
  for (int i = 0; i < 25; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "account:%02d", i);
    c.assign[key] = i % 2 ? "v2" : "v1";
  }
  ASSERT_TRUE(flows().Apply(c).ok());
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    auto page = flows().Assignments("ledger.rounding", 10, token);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& a : page->assignments) keys.push_back(a.key);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(keys.size(), 25u);
  EXPECT_EQ(keys.front(), "account:00");
  EXPECT_EQ(keys.back(), "account:24");
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  auto all = flows().AllAssignments("ledger.rounding");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 25u);
  EXPECT_EQ(all->at("account:03"), "v2");
}

}  // namespace
}  // namespace reprise
