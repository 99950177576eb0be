#include "reprise/base/duration.h"

#include <gtest/gtest.h>

namespace reprise {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, UnitsAndDecimals) {
  EXPECT_EQ(*ParseDuration("250ms"), 250ms);
  EXPECT_EQ(*ParseDuration("2.5s"), 2500ms);
  EXPECT_EQ(*ParseDuration("10"), 10s);
  EXPECT_EQ(*ParseDuration("5m"), 5min);
  EXPECT_EQ(*ParseDuration("1h"), 1h);
  EXPECT_EQ(*ParseDuration("7d"), 168h);
  EXPECT_EQ(*ParseDuration("0.001ms"), 1us);
  EXPECT_EQ(*ParseDuration("0"), 0us);
}

TEST(DurationTest, RefusesWhatIsNotADuration) {
  for (const char* text : {"", "s", "-1s", "+1s", "1x", "1 s", "1.2.3s", ".", "1e3", "ms"}) {
    auto d = ParseDuration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(d.status().message().find("write e.g. 250ms"), std::string::npos) << d.status().message();
  }
}

TEST(DurationTest, HugeValuesAreOutOfRangeNotOverflowed) {
  EXPECT_EQ(ParseDuration("106751991d").status().code(), StatusCode::kOk);  // ~292,000 years
  EXPECT_EQ(ParseDuration("106751992d").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDuration("99999999999999999999999999h").status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDuration("18446744073709551615d").status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace reprise
