// Token files, hashing and the access option lookup (gatekeeper.h); the
// checks themselves over real gRPC: tests/integration/security_test.cc.
#include "gatekeeper.h"

#include <gtest/gtest.h>

#include "support/test_env.h"
#include "support/test_pki.h"

namespace reprise {
namespace {

TEST(GatekeeperTest, Sha256HexMatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(GatekeeperTest, TokenFilesParseAndMistakesNameTheLine) {
  testing::TempDir dir;
  const std::string h1(64, 'a'), h2(64, 'b');
  ASSERT_TRUE(testing::WriteFile(dir.File("ok"), "# comment\n\n  vera viewer sha256:" + h1 +
                                                     "\notto operator sha256:" + h2 + "\n"));
  auto tokens = LoadTokenFile(dir.File("ok"));
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].name, "vera");
  EXPECT_EQ((*tokens)[0].role, Role::kViewer);
  EXPECT_EQ((*tokens)[1].role, Role::kOperator);
  EXPECT_EQ((*tokens)[1].sha256_hex, h2);

  struct Case {
    std::string content, expected;
  } cases[] = {
      {"vera viewer\n", ":1: not three fields"},
      {"vera viewer sha256:" + h1 + " extra\n", ":1: not three fields"},
      {"\nvera root sha256:" + h1 + "\n", ":2: unknown role \"root\""},
      {"vera viewer " + h1 + "\n", ":1: the hash must be sha256:"},
      {"vera viewer sha256:" + std::string(64, 'A') + "\n", ":1: the hash must be"},
      {"ve/ra viewer sha256:" + h1 + "\n", ":1: bad name"},
      {"vera viewer sha256:" + h1 + "\nvera operator sha256:" + h2 + "\n", ":2: the name vera"},
      {"vera viewer sha256:" + h1 + "\notto operator sha256:" + h1 + "\n", ":2: the same token"},
      {"# nobody\n", "lists no tokens"},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(testing::WriteFile(dir.File("bad"), c.content));
    auto r = LoadTokenFile(dir.File("bad"));
    ASSERT_FALSE(r.ok()) << c.content;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(LoadTokenFile(dir.File("missing")).status().code(), StatusCode::kFailedPrecondition);
}

TEST(GatekeeperTest, IsMutatingFollowsTheAccessOption) {
  EXPECT_TRUE(IsMutating("/reprise.v1.Agent/StartReflow"));
  EXPECT_TRUE(IsMutating("/reprise.v1.Agent/SetFlow"));
  EXPECT_TRUE(IsMutating("/reprise.v1.Agent/InvokeKnob"));
  EXPECT_FALSE(IsMutating("/reprise.v1.Agent/ListMessages"));
  EXPECT_FALSE(IsMutating("/grpc.health.v1.Health/Check"));
  EXPECT_FALSE(IsMutating("/reprise.v1.Agent/NoSuchMethod"));
}

}  // namespace
}  // namespace reprise
