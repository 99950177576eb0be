#include "diff.h"

#include <gtest/gtest.h>

namespace reprise {
namespace {

using Lines = std::vector<std::string>;

TEST(DiffOutputsTest, EqualOutputsHaveNoDiff) {
  EXPECT_TRUE(DiffOutputs("{\"a\":1}", "{\"a\":1}").empty());
  EXPECT_TRUE(DiffOutputs("same\ntext", "same\ntext").empty());
}

TEST(DiffOutputsTest, JsonObjectsAreComparedFieldByField) {
  EXPECT_EQ(DiffOutputs(R"({"account":"a:1","balance":"6.10","rounding":"v1","note":"x"})",
                        R"({"account":"a:1","balance":"6.12","rounding":"v2","fee":{"eur":0.2}})"),
            (Lines{"balance: \"6.10\" -> \"6.12\"", "- note: \"x\"",
                   "rounding: \"v1\" -> \"v2\"", "+ fee.eur: 0.2"}));
}

TEST(DiffOutputsTest, NestedArraysAndFormattingOnly) {
  EXPECT_EQ(DiffOutputs(R"({"items":[1,2]})", R"({"items":[1,3,4]})"),
            (Lines{"items[1]: 2 -> 3", "+ items[2]: 4"}));
  EXPECT_EQ(DiffOutputs("{\"a\": 1}", "{\"a\":1}"), (Lines{"(same fields, different formatting)"}));
}

TEST(DiffOutputsTest, TextIsComparedLineByLine) {
  EXPECT_EQ(DiffOutputs("total 10\nfee 1\nowner bob", "total 12\nfee 1\nowner bob\nextra"),
            (Lines{"- total 10", "+ total 12", "+ extra"}));
  EXPECT_EQ(DiffOutputs("", "{\"a\":1}"), (Lines{"+ {\"a\":1}"}));
}

TEST(DiffOutputsTest, MalformedJsonFallsBackToLines) {
  EXPECT_EQ(DiffOutputs("{\"a\":", "{\"a\":2}"), (Lines{"- {\"a\":", "+ {\"a\":2}"}));
}

}  // namespace
}  // namespace reprise
