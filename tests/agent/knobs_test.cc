#include "knobs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace reprise {
namespace {

using namespace std::chrono_literals;

std::vector<KnobArg> Spec() {
  return {{"region", ArgType::kString, "which region"},
          {"limit", ArgType::kInt, "how many", false},
          {"dry", ArgType::kBool, "only report", false},
          {"ttl", ArgType::kDuration, "how long", false},
          {"level", ArgType::kEnum, "log level", false, {"debug", "info", "warn"}}};
}

TEST(ArgsTest, ValidArgumentsAreConverted) {
  auto args = Args::Parse("k", Spec(), {{"region", "eu"}, {"limit", "-42"}, {"dry", "yes"},
                                        {"ttl", "250ms"}, {"level", "warn"}});
  ASSERT_TRUE(args.ok()) << args.status().ToString();
  EXPECT_EQ(args->String("region"), "eu");
  EXPECT_EQ(args->Int("limit"), -42);
  EXPECT_TRUE(args->Bool("dry"));
  EXPECT_EQ(args->Duration("ttl"), 250ms);
  EXPECT_EQ(args->String("level"), "warn");
  EXPECT_FALSE(args->Has("nothing"));
  EXPECT_EQ(args->Int("absent", 7), 7);
}

TEST(ArgsTest, MissingArgumentListsWhatIsExpected) {
  auto args = Args::Parse("cache.flush", Spec(), {});
  ASSERT_FALSE(args.ok());
  EXPECT_EQ(args.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(args.status().message(),
            "knob cache.flush: missing argument \"region\"; expected: region=string "
            "limit=int (optional) dry=bool (optional) ttl=duration (optional) "
            "level=enum(debug|info|warn) (optional)");
}

TEST(ArgsTest, IllTypedAndUnknownArgumentsAreRefused) {
  auto bad_int = Args::Parse("k", Spec(), {{"region", "eu"}, {"limit", "ten"}});
  EXPECT_NE(bad_int.status().message().find("limit=\"ten\" is not a valid int"), std::string::npos);
  auto bad_enum = Args::Parse("k", Spec(), {{"region", "eu"}, {"level", "wran"}});
  EXPECT_NE(bad_enum.status().message().find("did you mean \"warn\""), std::string::npos)
      << bad_enum.status().message();
  auto unknown = Args::Parse("k", Spec(), {{"reigon", "eu"}});
  EXPECT_NE(unknown.status().message().find("unknown argument \"reigon\"; did you mean \"region\""),
            std::string::npos)
      << unknown.status().message();
  EXPECT_FALSE(Args::Parse("k", Spec(), {{"region", "eu"}, {"ttl", "5 minutes"}}).ok());
  EXPECT_FALSE(Args::Parse("k", Spec(), {{"region", "eu"}, {"dry", "maybe"}}).ok());
  // Past what the arithmetic holds: refused, not wrapped around.
  EXPECT_FALSE(Args::Parse("k", Spec(), {{"region", "eu"}, {"ttl", "999999999999d"}}).ok());
}

TEST(ParseDurationTest, Units) {
  EXPECT_EQ(*ParseDuration("2s"), 2000ms);
  EXPECT_EQ(*ParseDuration("5m"), 300000ms);
  EXPECT_EQ(*ParseDuration("1h"), 3600000ms);
  EXPECT_EQ(*ParseDuration("3"), 3000ms);
  EXPECT_FALSE(ParseDuration("-1s").ok());
  EXPECT_FALSE(ParseDuration("1y").ok());
}

TEST(KnobRegistryTest, InvokesWithArgumentsAndReportsTheResult) {
  KnobRegistry r;
  r.Register({"cache.flush", "drop the cache", {{"region", ArgType::kString}}},
             [](const Args& a) -> StatusOr<std::string> { return "flushed " + a.String("region"); });
  auto result = r.Invoke("cache.flush", {{"region", "eu"}});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, "flushed eu");
  ASSERT_EQ(r.List().size(), 1u);
  EXPECT_EQ(r.List()[0].help, "drop the cache");
}

TEST(KnobRegistryTest, UnknownKnobIsNotFoundWithASuggestion) {
  KnobRegistry r;
  r.Register({"cache.flush", "", {}}, [](const Args&) -> StatusOr<std::string> { return ""; });
  auto result = r.Invoke("cache.flsh", {});
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("did you mean \"cache.flush\""), std::string::npos);
}

TEST(KnobRegistryTest, AKnobThatThrowsReturnsAnError) {
  KnobRegistry r;
  r.Register({"boom", "", {}}, [](const Args&) -> StatusOr<std::string> {
    throw std::runtime_error("config file missing");
  });
  auto result = r.Invoke("boom", {});
  EXPECT_EQ(result.status().code(), StatusCode::kUnknown);
  EXPECT_NE(result.status().message().find("config file missing"), std::string::npos);
}

TEST(KnobRegistryTest, AKnobThatOverrunsItsDeadlineReturnsAnErrorOnTime) {
  KnobRegistry r;
  auto finished = std::make_shared<std::atomic<bool>>(false);
  r.Register({"slow", "", {}, {.deadline = 100ms}}, [finished](const Args&) -> StatusOr<std::string> {
    std::this_thread::sleep_for(500ms);
    *finished = true;
    return "done";
  });
  auto t0 = std::chrono::steady_clock::now();
  auto result = r.Invoke("slow", {});
  EXPECT_EQ(result.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 450ms);
  EXPECT_FALSE(*finished);
  // The registry keeps serving.
  r.Register({"fast", "", {}}, [](const Args&) -> StatusOr<std::string> { return "ok"; });
  EXPECT_EQ(*r.Invoke("fast", {}), "ok");
  for (int i = 0; i < 100 && !*finished; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(*finished) << "the slow knob finishes in the background";
}

TEST(KnobRegistryTest, AKnobCanRefuseWithItsOwnStatus) {
  KnobRegistry r;
  r.Register({"k", "", {}}, [](const Args&) -> StatusOr<std::string> {
    return FailedPrecondition("cache is already empty");
  });
  EXPECT_EQ(r.Invoke("k", {}).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace reprise
