#include "reprise/base/hex.h"

#include <gtest/gtest.h>

namespace reprise {
namespace {

TEST(HexTest, EncodesEveryByteAsTwoLowercaseDigits) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
  std::string out = "x";
  AppendHex(out, 0x0f);
  EXPECT_EQ(out, "x0f");
}

}  // namespace
}  // namespace reprise
