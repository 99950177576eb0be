#include "reprise/base/did_you_mean.h"

#include <gtest/gtest.h>

#include <set>

namespace reprise {
namespace {

TEST(DidYouMeanTest, EditDistanceCountsATranspositionAsOneEdit) {
  EXPECT_EQ(EditDistance("outcome", "outcome"), 0u);
  EXPECT_EQ(EditDistance("ouctome", "outcome"), 1u);
  EXPECT_EQ(EditDistance("chanel", "channel"), 1u);
  EXPECT_EQ(EditDistance("", "key"), 3u);
}

TEST(DidYouMeanTest, ShortWordsGetOneEditLongerOnesTwo) {
  std::vector<std::string_view> names = {"in", "out", "key", "channel", "reflow"};
  EXPECT_EQ(ClosestName("ok", names), "");  // two edits from "in": not a typo
  EXPECT_EQ(ClosestName("kye", names), "key");
  EXPECT_EQ(ClosestName("CHANEL", names), "channel");  // case does not count
  EXPECT_EQ(ClosestName("reflw", names), "reflow");
  EXPECT_EQ(ClosestName("chnnl", names), "channel");  // two edits
  EXPECT_EQ(ClosestName("chnl", names), "");  // three edits
}

TEST(DidYouMeanTest, DidYouMeanTakesAnyRangeOfNames) {
  std::set<std::string> flows = {"ledger.rounding", "ledger.fees"};
  EXPECT_EQ(DidYouMean("ledger.roundin", flows), "; did you mean \"ledger.rounding\"?");
  EXPECT_EQ(DidYouMean("payments", flows), "");
}

}  // namespace
}  // namespace reprise
