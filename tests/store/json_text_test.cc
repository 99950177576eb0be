#include "json_text.h"

#include <gtest/gtest.h>

namespace reprise::json {
namespace {

TEST(JsonTextTest, HeadersRoundTripWithEscapes) {
  Headers h{{"tenant", "acme"}, {"quote\"d", "line\nbreak\ttab\\"}, {"ctl", std::string("\x01", 1)}};
  std::string text = EncodeHeaders(h);
  auto back = DecodeHeaders(text);
  ASSERT_TRUE(back.has_value()) << text;
  EXPECT_EQ(*back, h);
}

TEST(JsonTextTest, EmptyHeadersEncodeToNothing) {
  EXPECT_EQ(EncodeHeaders({}), "");
  auto back = DecodeHeaders("");
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->empty());
}

TEST(JsonTextTest, RejectsWhatIsNotAFlatObjectOfStrings) {
  EXPECT_FALSE(DecodeHeaders("[1]").has_value());
  EXPECT_FALSE(DecodeHeaders("{\"a\":1}").has_value());
  EXPECT_FALSE(DecodeHeaders("{\"a\":\"b\"").has_value());
}

TEST(JsonTextTest, DecodesUnicodeEscapes) {
  auto h = DecodeHeaders(R"({"name":"caf\u00e9"})");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->at("name"), "caf\xc3\xa9");
}

}  // namespace
}  // namespace reprise::json
