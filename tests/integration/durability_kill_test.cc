// Kills a real recording process with SIGKILL and checks the durability
// promise: in `process` mode every message whose Deliver returned is in the
// journal after the crash, once the intent log is recovered.
#include <signal.h>

#include <gtest/gtest.h>

#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::BinaryPath;
using testing::Subprocess;
using testing::TempDir;

// Starts the test host delivering forever, lets it run, kills it with -9 and
// returns the ids it reported as delivered.
std::vector<std::string> DeliverThenKill(const std::string& journal, const std::string& durability,
                                         std::chrono::milliseconds run_for) {
  auto host = Subprocess::Start({BinaryPath("reprise-test-host"), "--journal", journal,
                                 "--listen", "", "--durability", durability, "--deliver-forever"});
  EXPECT_TRUE(host.has_value());
  if (!host) return {};
  EXPECT_TRUE(host->WaitForLine("delivering", 30s).has_value());
  std::vector<std::string> delivered;
  auto deadline = std::chrono::steady_clock::now() + run_for;
  while (std::chrono::steady_clock::now() < deadline) {
    auto line = host->ReadLine(1s);
    if (line && line->rfind("delivered ", 0) == 0) delivered.push_back(line->substr(10));
  }
  host->Kill(SIGKILL);
  // Lines already in the pipe were printed after Deliver returned, too.
  while (auto line = host->ReadLine(100ms)) {
    if (line->rfind("delivered ", 0) == 0) delivered.push_back(line->substr(10));
  }
  return delivered;
}

TEST(DurabilityKillTest, ProcessModeKeepsEveryDeliveredMessageAcrossKill9) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.File("kill.journal");
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> delivered = DeliverThenKill(url, "process", 700ms);
    ASSERT_GT(delivered.size(), 10u) << "the host should have delivered messages";
    ASSERT_EQ(testing::RecoverIntentLog(dir.File("kill.journal")), "");  // as the next start does
    auto journal = Journal::Open(url);
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    size_t missing = 0, unfinished = 0;
    for (const std::string& id : delivered) {
      auto m = (*journal)->Get(id);
      if (!m.ok()) ++missing;
      // Deliver also waited for the outcome's commit.
      else if (m->message.outcome != Outcome::kOk) ++unfinished;
    }
    EXPECT_EQ(unfinished, 0u) << "round " << round;
    EXPECT_EQ(missing, 0u) << "round " << round << ": " << missing << " of " << delivered.size()
                           << " acknowledged messages lost";
  }
}

}  // namespace
}  // namespace reprise
