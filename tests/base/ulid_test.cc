#include "reprise/base/ulid.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace reprise {
namespace {

TEST(UlidTest, EncodesTimeAndSortsByIt) {
  UlidGenerator gen;
  std::string a = gen.Next(1700000000000);
  std::string b = gen.Next(1700000000001);
  EXPECT_TRUE(IsUlid(a));
  EXPECT_EQ(a.size(), 26u);
  EXPECT_EQ(UlidTimeMs(a), 1700000000000);
  EXPECT_EQ(UlidTimeMs(b), 1700000000001);
  EXPECT_LT(a, b);
  EXPECT_LE(UlidLowerBound(1700000000001), b);
  EXPECT_GT(UlidLowerBound(1700000000001), a);
}

TEST(UlidTest, StrictlyIncreasingWhenTheClockStandsStillOrStepsBack) {
  UlidGenerator gen;
  std::string prev = gen.Next(5000);
  for (int i = 0; i < 1000; ++i) {
    std::string next = gen.Next(i % 2 ? 5000 : 4000);  // never newer than 5000
    ASSERT_LT(prev, next);
    prev = next;
  }
}

TEST(UlidTest, UniqueAcrossThreads) {
  UlidGenerator gen;
  std::vector<std::vector<std::string>> per(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) per[t].push_back(gen.Next(1700000000000 + i / 100));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (auto& v : per) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 20000u);
}

TEST(UlidTest, RejectsNonUlids) {
  EXPECT_FALSE(IsUlid(""));
  EXPECT_FALSE(IsUlid("01JD"));
  EXPECT_FALSE(IsUlid("01JDXXXXXXXXXXXXXXXXXXXXXU"));  // U is not Crockford
  EXPECT_FALSE(IsUlid("81JD0000000000000000000000"));  // overflows 128 bits
  EXPECT_EQ(UlidTimeMs("nope"), -1);
}

}  // namespace
}  // namespace reprise
