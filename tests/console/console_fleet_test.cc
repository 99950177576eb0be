// Fleet mode of the real `reprise` binary through a pipe: three test hosts
// share one journal; `reprise --fleet sqlite:PATH` lists them and fans
// status and a knob out to each, aggregating the answers. Hosts that require
// tokens and mutual TLS get the console's token and TLS files on every
// instance's connection, not only the first.
#include <gtest/gtest.h>

#include <memory>

#include "console_harness.h"
#include "support/postgres_server.h"
#include "support/test_pki.h"

namespace reprise::console {
namespace {

using testing::RunReprise;

class ConsoleFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_ = dir_.File("fleet.journal");
    for (const char* name : {"fleet-1", "fleet-2", "fleet-3"}) {
      hosts_.push_back(std::make_unique<testing::TestHost>(
          std::vector<std::string>{"--no-seed", "--flows", "--instance", name}, journal_));
      ASSERT_FALSE(hosts_.back()->address().empty()) << name << " did not start";
    }
  }
  reprise::testing::CommandResult Fleet(std::vector<std::string> args) {
    std::vector<std::string> all = {"--fleet", "sqlite:" + journal_, "--service", "test-host"};
    all.insert(all.end(), args.begin(), args.end());
    return RunReprise(all);
  }

  reprise::testing::TempDir dir_;
  std::string journal_;
  std::vector<std::unique_ptr<testing::TestHost>> hosts_;
};

TEST_F(ConsoleFleetTest, ListsTheInstancesAndAggregatesStatusAndAKnob) {
  auto r = Fleet({"-c", "instances; status; knob flow.probe keys=a,b"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& h : hosts_) {
    EXPECT_NE(r.out.find(h->address()), std::string::npos) << h->address() << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("3 live instances"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test-host, 3 live instances in sqlite:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 of 3 reachable"), std::string::npos) << r.out;
  // The knob ran on each instance: one result row per instance.
  size_t rows = 0;
  for (size_t at = r.out.find("a=v1,b=v1"); at != std::string::npos; at = r.out.find("a=v1,b=v1", at + 1)) ++rows;
  EXPECT_EQ(rows, 3u) << r.out;
  for (const char* name : {"fleet-1", "fleet-2", "fleet-3"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }
}

TEST_F(ConsoleFleetTest, JsonAnswersCarryEveryInstanceAndTheTotals) {
  auto r = Fleet({"--json", "-c", "status; knob flow.probe keys=z"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> lines = testing::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[0].find("\"total\":{\"instances\":3,\"reachable\":3"), std::string::npos) << lines[0];
  for (const char* name : {"fleet-1", "fleet-2", "fleet-3"}) {
    EXPECT_NE(lines[0].find(std::string("\"id\":\"") + name + "\""), std::string::npos) << name;
    EXPECT_NE(lines[1].find(std::string("{\"instance\":\"") + name + "\",\"result\":\"z=v1\"}"),
              std::string::npos)
        << lines[1];
  }
}

TEST_F(ConsoleFleetTest, InstanceChoosesOneAndQueriesGoThroughALiveInstance) {
  auto r = Fleet({"--instance", "fleet-2", "-c", "knob flow.probe keys=q; count"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("fleet-2"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("fleet-1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("fleet-3"), std::string::npos) << r.out;

  // A stopped instance leaves the registry's live list at once.
  hosts_[0]->Stop();
  auto after = Fleet({"-c", "instances"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_NE(after.out.find("2 live instances"), std::string::npos) << after.out;

  auto none = RunReprise({"--fleet", "sqlite:" + journal_, "--service", "nobody", "-c", "status"});
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_NE(none.err.find("no live instance of service nobody"), std::string::npos) << none.err;
  auto usage = RunReprise({"--service", "x", "-c", "status"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("add --fleet JOURNAL_URL"), std::string::npos) << usage.err;
}

// The same on PostgreSQL: `reprise --fleet postgresql://...` reads the
// registry through libpq and fans out to three hosts sharing the server.
TEST(ConsoleFleetPostgresTest, ListsTheInstancesAndAggregatesStatusAndAKnob) {
  auto server = reprise::testing::PostgresServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto url = (*server)->NewJournalUrl();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  std::vector<std::unique_ptr<testing::TestHost>> hosts;
  for (const char* name : {"pg-1", "pg-2", "pg-3"}) {
    hosts.push_back(std::make_unique<testing::TestHost>(
        std::vector<std::string>{"--no-seed", "--flows", "--instance", name}, *url));
    ASSERT_FALSE(hosts.back()->address().empty()) << name << " did not start";
  }
  auto r = RunReprise({"--fleet", *url, "--service", "test-host", "-c",
                       "instances; status; knob flow.probe keys=a,b"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& h : hosts) {
    EXPECT_NE(r.out.find(h->address()), std::string::npos) << h->address() << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("3 live instances"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test-host, 3 live instances in postgresql://"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 of 3 reachable"), std::string::npos) << r.out;
  size_t rows = 0;
  for (size_t at = r.out.find("a=v1,b=v1"); at != std::string::npos; at = r.out.find("a=v1,b=v1", at + 1)) ++rows;
  EXPECT_EQ(rows, 3u) << r.out;
  for (const char* name : {"pg-1", "pg-2", "pg-3"}) {
    EXPECT_NE(r.out.find(name), std::string::npos) << name;
  }

  auto json = RunReprise({"--fleet", *url, "--service", "test-host", "--json", "-c",
                          "status; knob flow.probe keys=z"});
  ASSERT_EQ(json.exit_code, 0) << json.out << json.err;
  std::vector<std::string> lines = testing::SplitLines(json.out);
  ASSERT_EQ(lines.size(), 2u) << json.out;
  EXPECT_NE(lines[0].find("\"total\":{\"instances\":3,\"reachable\":3"), std::string::npos) << lines[0];
  for (const char* name : {"pg-1", "pg-2", "pg-3"}) {
    EXPECT_NE(lines[1].find(std::string("{\"instance\":\"") + name + "\",\"result\":\"z=v1\"}"),
              std::string::npos)
        << lines[1];
  }
}

// Three hosts that require a token and a client certificate from the CA.
class SecureFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = reprise::testing::MakeTestPki(dir_);
    ASSERT_TRUE(pki_.ok()) << pki_.error;
    auto viewer = reprise::testing::MakeToken("vera", "viewer");
    auto op = reprise::testing::MakeToken("otto", "operator");
    ASSERT_FALSE(viewer.token.empty());
    ASSERT_FALSE(op.token.empty());
    using reprise::testing::WriteFile;
    ASSERT_TRUE(WriteFile(dir_.File("agent-tokens"), viewer.line + "\n" + op.line + "\n"));
    ASSERT_TRUE(WriteFile(dir_.File("vera.token"), viewer.token + "\n"));
    ASSERT_TRUE(WriteFile(dir_.File("otto.token"), op.token + "\n"));
    journal_ = dir_.File("fleet.journal");
    for (const char* name : {"secure-1", "secure-2", "secure-3"}) {
      hosts_.push_back(std::make_unique<testing::TestHost>(
          std::vector<std::string>{"--no-seed", "--flows", "--instance", name, "--token-file",
                                   dir_.File("agent-tokens"), "--tls-cert", pki_.server_cert,
                                   "--tls-key", pki_.server_key, "--tls-client-ca", pki_.ca_cert},
          journal_));
      ASSERT_FALSE(hosts_.back()->address().empty()) << name << " did not start";
    }
  }
  // The console in fleet mode with TLS (CA and client certificate) and the
  // token in `token_file` ("" for none); `extra` comes last.
  reprise::testing::CommandResult Fleet(const std::string& token_file,
                                        std::vector<std::string> extra) {
    std::vector<std::string> all = {"--fleet", "sqlite:" + journal_, "--service", "test-host",
                                    "--timeout", "5s", "--tls-ca", pki_.ca_cert, "--tls-cert",
                                    pki_.client_cert, "--tls-key", pki_.client_key};
    if (!token_file.empty()) all.insert(all.end(), {"--token-file", token_file});
    all.insert(all.end(), extra.begin(), extra.end());
    return RunReprise(all);
  }

  reprise::testing::TempDir dir_;
  reprise::testing::TestPki pki_;
  std::string journal_;
  std::vector<std::unique_ptr<testing::TestHost>> hosts_;
};

TEST_F(SecureFleetTest, StatusAndAKnobReachEveryInstanceWithTheConsolesTokenAndCertificate) {
  auto r = Fleet(dir_.File("otto.token"), {"--json", "-c", "status; knob flow.probe keys=k"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<std::string> lines = testing::SplitLines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_NE(lines[0].find("\"total\":{\"instances\":3,\"reachable\":3"), std::string::npos)
      << lines[0];
  for (const char* name : {"secure-1", "secure-2", "secure-3"}) {
    EXPECT_NE(lines[1].find(std::string("{\"instance\":\"") + name + "\",\"result\":\"k=v1\"}"),
              std::string::npos)
        << lines[1];
  }

  // A viewer sees every instance's status; each instance refuses it the knob.
  auto viewer = Fleet(dir_.File("vera.token"), {"--json", "-c", "status; knob flow.probe keys=k"});
  EXPECT_EQ(viewer.exit_code, 1) << viewer.out << viewer.err;
  lines = testing::SplitLines(viewer.out);
  ASSERT_EQ(lines.size(), 3u) << viewer.out << viewer.err;  // status, knob, the command's error
  EXPECT_NE(lines[2].find("failed on 3 of 3 instances"), std::string::npos) << lines[2];
  EXPECT_NE(lines[0].find("\"reachable\":3"), std::string::npos) << lines[0];
  size_t denied = 0;
  for (size_t at = lines[1].find("PERMISSION_DENIED"); at != std::string::npos;
       at = lines[1].find("PERMISSION_DENIED", at + 1)) {
    ++denied;
  }
  EXPECT_EQ(denied, 3u) << lines[1];

  // Without a token, the first instance already refuses the console.
  auto none = Fleet("", {"-c", "status"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("UNAUTHENTICATED"), std::string::npos) << none.out << none.err;
}

}  // namespace
}  // namespace reprise::console
