// The real `reprise` binary against a reprise-test-host that requires tokens
// and serves TLS (mutual TLS for one host): `reprise token new`, --token-file,
// $REPRISE_TOKEN, --tls-ca/--tls-cert/--tls-key, refusals and redaction.
#include <gtest/gtest.h>

#include "console_harness.h"
#include "support/test_pki.h"

namespace reprise::console {
namespace {

using reprise::testing::MakeToken;
using reprise::testing::TestToken;
using reprise::testing::WriteFile;
using testing::RunReprise;

class ConsoleSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = reprise::testing::MakeTestPki(dir_);
    ASSERT_TRUE(pki_.ok()) << pki_.error;
    viewer_ = MakeToken("vera", "viewer");
    operator_ = MakeToken("otto", "operator");
    ASSERT_FALSE(viewer_.token.empty());
    ASSERT_TRUE(WriteFile(dir_.File("agent-tokens"), viewer_.line + "\n" + operator_.line + "\n"));
    ASSERT_TRUE(WriteFile(dir_.File("vera.token"), "# vera's token\n" + viewer_.token + "\n"));
    ASSERT_TRUE(WriteFile(dir_.File("otto.token"), operator_.token + "\n"));
  }
  // A host with tokens and TLS (mutual when `mutual`), payloads redacted for viewers.
  std::unique_ptr<testing::TestHost> Host(bool mutual) {
    std::vector<std::string> args = {"--token-file", dir_.File("agent-tokens"), "--tls-cert",
                                     pki_.server_cert, "--tls-key", pki_.server_key,
                                     "--redact-viewers"};
    if (mutual) args.insert(args.end(), {"--tls-client-ca", pki_.ca_cert});
    return std::make_unique<testing::TestHost>(args);
  }

  reprise::testing::TempDir dir_;
  reprise::testing::TestPki pki_;
  TestToken viewer_, operator_;
};

TEST_F(ConsoleSecurityTest, TokenNewPrintsATokenAndItsLineOnce) {
  auto r = RunReprise({"token", "new", "ci-bot", "viewer"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = testing::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[1].rfind("rpt_", 0), 0u);
  EXPECT_EQ(lines[1].size(), 4u + 64u);
  EXPECT_EQ(lines[3].rfind("ci-bot viewer sha256:", 0), 0u) << lines[3];
  EXPECT_EQ(lines[3].find(lines[1]), std::string::npos) << "the file holds only the hash";
  auto again = RunReprise({"token", "new", "ci-bot", "viewer"});
  EXPECT_NE(testing::SplitLines(again.out)[1], lines[1]) << "tokens are random";

  EXPECT_EQ(RunReprise({"token", "new", "x", "admin"}).exit_code, 2);
  EXPECT_EQ(RunReprise({"token", "new", "bad name", "viewer"}).exit_code, 2);
}

TEST_F(ConsoleSecurityTest, TokensComeFromAFileOrTheEnvironmentNeverAnArgument) {
  auto host = Host(false);
  ASSERT_FALSE(host->address().empty()) << "reprise-test-host did not start";
  std::vector<std::string> tls = {"--agent", host->address(), "--tls-ca", pki_.ca_cert};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> all = tls;
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  };

  auto none = RunReprise(with({"-c", "status"}));
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("UNAUTHENTICATED"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("--token-file"), std::string::npos) << "says what to do: " << none.err;

  auto file = RunReprise(with({"--token-file", dir_.File("vera.token"), "-c", "status"}));
  EXPECT_EQ(file.exit_code, 0) << file.err;
  EXPECT_NE(file.out.find("test-host"), std::string::npos);

  auto env = RunReprise(with({"-c", "count"}), "", {"REPRISE_TOKEN=" + operator_.token});
  EXPECT_EQ(env.exit_code, 0) << env.err;

  // A token pasted with a stray newline or a non-ASCII byte cannot go into a
  // header: a clear usage error, not a crash in the gRPC library.
  auto empty = RunReprise(with({"-c", "status"}), "", {"REPRISE_TOKEN="});
  EXPECT_EQ(empty.exit_code, 1) << "an empty variable is no token: " << empty.err;
  EXPECT_NE(empty.err.find("UNAUTHENTICATED"), std::string::npos) << empty.err;
  auto padded = RunReprise(with({"-c", "count"}), "", {"REPRISE_TOKEN= " + operator_.token + "\n"});
  EXPECT_EQ(padded.exit_code, 0) << padded.err;
  auto broken = RunReprise(with({"-c", "count"}), "",
                           {"REPRISE_TOKEN=" + operator_.token.substr(0, 8) + "\xc3\xa9" +
                            operator_.token.substr(8)});
  EXPECT_EQ(broken.exit_code, 2) << broken.err;
  EXPECT_NE(broken.err.find("$REPRISE_TOKEN has a character that cannot be sent (0xc3 at position 9)"),
            std::string::npos)
      << broken.err;
  ASSERT_TRUE(WriteFile(dir_.File("tab.token"), "rpt_\tx\n"));
  auto tab = RunReprise(with({"--token-file", dir_.File("tab.token"), "-c", "status"}));
  EXPECT_EQ(tab.exit_code, 2) << tab.err;
  EXPECT_NE(tab.err.find("(0x09 at position 5)"), std::string::npos) << tab.err;

  auto arg = RunReprise(with({"--token", operator_.token, "-c", "status"}));
  EXPECT_EQ(arg.exit_code, 2);
  EXPECT_NE(arg.err.find("--token-file"), std::string::npos) << arg.err;

  auto missing = RunReprise(with({"--token-file", dir_.File("nowhere"), "-c", "status"}));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;

  // Plaintext to a TLS agent does not get through.
  auto plain = RunReprise({"--agent", host->address(), "--token-file", dir_.File("vera.token"),
                           "--timeout", "3s", "-c", "status"});
  EXPECT_EQ(plain.exit_code, 3) << plain.err;
}

TEST_F(ConsoleSecurityTest, ViewerIsRefusedChangesAndSeesNoPayloads) {
  auto host = Host(false);
  ASSERT_FALSE(host->address().empty()) << "reprise-test-host did not start";
  std::vector<std::string> base = {"--agent", host->address(), "--tls-ca", pki_.ca_cert,
                                   "--token-file", dir_.File("vera.token"), "--yes"};
  auto run = [&](const std::string& commands, const std::string& token_file) {
    std::vector<std::string> all = base;
    all[5] = token_file;
    all.insert(all.end(), {"--json", "-c", commands});
    return RunReprise(all);
  };
  auto reflow = run("reflow outcome = failed", dir_.File("vera.token"));
  EXPECT_EQ(reflow.exit_code, 1);
  EXPECT_NE(reflow.err.find("PERMISSION_DENIED"), std::string::npos) << reflow.err;

  // `show` as the viewer: metadata, no payload.
  auto found = run("find channel = payments.received limit 1", dir_.File("vera.token"));
  ASSERT_EQ(found.exit_code, 0) << found.err;
  size_t at = found.out.find("\"id\":\"");
  ASSERT_NE(at, std::string::npos) << found.out;
  std::string id = found.out.substr(at + 6, 26);
  std::vector<std::string> show = base;
  show.insert(show.end(), {"-c", "show " + id});
  auto shown = RunReprise(show);
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("redacted"), std::string::npos) << shown.out;
  EXPECT_EQ(shown.out.find("\"amount\""), std::string::npos) << shown.out;
  show[5] = dir_.File("otto.token");
  auto as_operator = RunReprise(show);
  ASSERT_EQ(as_operator.exit_code, 0) << as_operator.err;
  EXPECT_NE(as_operator.out.find("\"amount\""), std::string::npos) << as_operator.out;

  // The refusal is in the audit trail, under the token's name.
  auto audit = run("audit", dir_.File("otto.token"));
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"who\":\"vera\""), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("PERMISSION_DENIED"), std::string::npos) << audit.out;
}

// An operator's reflow over TLS: the start and the progress stream that
// follows it (WatchJob) both carry the token.
TEST_F(ConsoleSecurityTest, AnOperatorReflowsAndFollowsTheJobOverTls) {
  auto host = Host(true);
  ASSERT_FALSE(host->address().empty()) << "reprise-test-host did not start";
  auto r = RunReprise({"--agent", host->address(), "--tls-ca", pki_.ca_cert, "--tls-cert",
                       pki_.client_cert, "--tls-key", pki_.client_key, "--token-file",
                       dir_.File("otto.token"), "--yes", "-c",
                       "reflow key = \"account:1\" and direction = in; audit"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("completed: 3 of 3 replayed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("otto"), std::string::npos) << "the audit names the token: " << r.out;
}

TEST_F(ConsoleSecurityTest, MutualTlsNeedsTheClientCertificate) {
  auto host = Host(true);
  ASSERT_FALSE(host->address().empty()) << "reprise-test-host did not start";
  std::vector<std::string> base = {"--agent", host->address(), "--tls-ca", pki_.ca_cert,
                                   "--token-file", dir_.File("otto.token"), "--timeout", "3s"};
  auto without = base;
  without.insert(without.end(), {"-c", "status"});
  EXPECT_EQ(RunReprise(without).exit_code, 3);
  auto stranger = base;
  stranger.insert(stranger.end(), {"--tls-cert", pki_.stranger_cert, "--tls-key",
                                   pki_.stranger_key, "-c", "status"});
  EXPECT_EQ(RunReprise(stranger).exit_code, 3);
  auto with = base;
  with.insert(with.end(),
              {"--tls-cert", pki_.client_cert, "--tls-key", pki_.client_key, "-c", "status"});
  auto r = RunReprise(with);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto half = base;
  half.insert(half.end(), {"--tls-cert", pki_.client_cert, "-c", "status"});
  EXPECT_EQ(RunReprise(half).exit_code, 2) << "a certificate without its key";
}

}  // namespace
}  // namespace reprise::console
