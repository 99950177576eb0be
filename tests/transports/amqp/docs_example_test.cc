// docs/transports.md's wiring example (built from the page by
// tests/CMakeLists.txt) runs against the broker: a payment in, a balance
// update out, both in the journal.
#include <thread>

#include "amqp_test_util.h"
#include "support/test_env.h"

namespace reprise::testing {
namespace {

using namespace std::chrono_literals;

TEST(DocsExampleTest, TheWiringOnTheDocsPageConsumesAndPublishes) {
  TempDir dir;
  const std::string journal = "sqlite:" + dir.File("ledger.journal");
  const std::string updates = UniqueQueue("balance-updates");
  RawAmqp raw;
  raw.DeclareQueue("payments");
  raw.DeclareQueue(updates);
  raw.Bind(updates, "amq.fanout", "");
  raw.Publish("payments", R"({"account":"acct:7","amount":5})", "docs-1");

  auto ledger = Subprocess::Start({REPRISE_AMQP_DOCS_EXAMPLE, Broker().url(), journal, "127.0.0.1:0"});
  ASSERT_TRUE(ledger.has_value());
  std::optional<RawAmqp::Got> update;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!update && std::chrono::steady_clock::now() < deadline) {
    update = raw.Get(updates);
    if (!update) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(update.has_value()) << ledger->ReadAllStderr(1s);
  EXPECT_EQ(update->body, R"({"balance":42})");
  ledger->CloseStdin();
  EXPECT_EQ(ledger->Wait(30s), 0);

  auto in = ReadJournal(journal, "direction = in");
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].key, "acct:7");
  EXPECT_EQ(in[0].outcome, Outcome::kOk);
  auto out = ReadJournal(journal, "direction = out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].outcome, Outcome::kOk);
  EXPECT_EQ(out[0].causation_id, in[0].id);
}

}  // namespace
}  // namespace reprise::testing
