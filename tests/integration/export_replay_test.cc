// A production case becomes a test case: a real agent (gRPC on loopback, a
// real SQLite journal) handles messages, some of which fail; the real console
// exports the failures to a JSON Lines file (`export FILTER FILE`); the file
// is loaded and replayed through the same handler, and every replay
// reproduces the recorded outcome and error.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "reprise/agent/agent.h"
#include "reprise/agent/replay.h"
#include "support/test_env.h"

namespace reprise {
namespace {

// The handler under test: refuses negative amounts, chokes (throws) on
// payloads that are not JSON, emits a balance otherwise.
Status LedgerHandler(const Message& in, Context& ctx) {
  if (in.payload.empty() || in.payload.front() != '{') {
    throw std::invalid_argument("payload is not JSON (" + std::to_string(in.payload.size()) +
                                " bytes)");
  }
  if (in.payload.find("\"amount\":\"-") != std::string::npos) {
    return InvalidArgument("negative amount for " + in.key);
  }
  ctx.Emit("balance.updated", in.key, "{\"balance\":\"1.00\"}");
  return Status::Ok();
}

const std::string kBinary("\x00\x01\xfe\xff\x80 binary\n", 12);

class ExportReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Agent::Start({.service = "ledger",
                           .journal = "sqlite:" + dir_.File("ledger.journal"),
                           .listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", LedgerHandler);
    for (int i = 0; i < 12; ++i) {
      std::string key = "account:" + std::to_string(i % 4);
      std::string payload = i % 5 == 1   ? "{\"amount\":\"-" + std::to_string(i) + "\"}"
                            : i % 5 == 3 ? kBinary
                                         : "{\"amount\":\"" + std::to_string(i) + "\"}";
      delivered_[agent_->Deliver("payments.received", key, payload,
                                 {.headers = {{"tenant", "acme"}}})
                     .id] = payload;
    }
    // Nobody handles this channel: recorded as skipped.
    delivered_[agent_->Deliver("refunds.received", "account:1", "{\"amount\":\"3\"}").id] =
        "{\"amount\":\"3\"}";
    ASSERT_TRUE(agent_->Flush().ok());
  }

  // Exports the messages `filter` selects to `path` with the real console:
  // `reprise --agent ADDR -c "export FILTER FILE"`.
  void Export(const std::string& filter, const std::string& path) {
    testing::CommandResult r =
        testing::RunCommand({testing::BinaryPath("reprise"), "--agent", agent_->listen_address(),
                             "-c", "export " + filter + " " + path});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("exported "), std::string::npos) << r.out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::map<std::string, std::string> delivered_;  // id -> payload
};

TEST_F(ExportReplayTest, ExportedFailuresReproduceThroughTheHandler) {
  const std::string path = dir_.File("failed.jsonl");
  ASSERT_NO_FATAL_FAILURE(Export("outcome = failed", path));

  auto recorded = replay::LoadExport(path);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  // i % 5 == 1 (negative) or 3 (binary, throws): i = 1, 3, 6, 8, 11.
  ASSERT_EQ(recorded->size(), 5u);

  int negative = 0, threw = 0;
  for (const Message& m : *recorded) {
    EXPECT_EQ(m.outcome, Outcome::kFailed);
    EXPECT_EQ(m.payload, delivered_.at(m.id)) << "payload survives the export, bytes intact";
    EXPECT_EQ(m.headers.at("tenant"), "acme");
    replay::ReplayResult r = replay::Replay(m, LedgerHandler);
    EXPECT_TRUE(replay::Reproduces(m, r)) << replay::Mismatch(m, r);
    EXPECT_EQ(r.outcome, m.outcome);
    EXPECT_EQ(r.error, m.error);
    negative += m.error.starts_with("negative amount for account:");
    threw += m.error == "handler for payments.received threw: payload is not JSON (12 bytes)";
  }
  EXPECT_EQ(negative, 3);
  EXPECT_EQ(threw, 2);

  // After a fix the same file shows the failures gone, and says how.
  auto fixed = [](const Message& in, Context& ctx) {
    ctx.Emit("balance.updated", in.key, "{\"balance\":\"0.00\"}");
    return Status::Ok();
  };
  for (const Message& m : *recorded) {
    replay::ReplayResult r = replay::Replay(m, fixed);
    EXPECT_EQ(r.outcome, Outcome::kOk);
    EXPECT_NE(replay::Mismatch(m, r).find("recorded failed"), std::string::npos);
  }
}

TEST_F(ExportReplayTest, EveryInboundOutcomeReproducesWithTheAgentsHandlers) {
  const std::string path = dir_.File("inbound.jsonl");
  ASSERT_NO_FATAL_FAILURE(Export("direction = in", path));
  auto recorded = replay::LoadExport(path);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  ASSERT_EQ(recorded->size(), delivered_.size());

  // The same registrations as the agent: refunds.received has no handler.
  std::vector<replay::ReplayResult> results =
      replay::Replay(*recorded, replay::Handlers{{"payments.received", LedgerHandler}});
  std::map<Outcome, int> outcomes;
  for (size_t i = 0; i < recorded->size(); ++i) {
    const Message& m = (*recorded)[i];
    EXPECT_EQ(replay::Mismatch(m, results[i]), "");
    ++outcomes[m.outcome];
    if (m.outcome == Outcome::kOk) {
      ASSERT_EQ(results[i].emitted.size(), 1u);
      EXPECT_EQ(results[i].emitted[0].channel, "balance.updated");
      EXPECT_EQ(results[i].emitted[0].causation_id, m.id);
      EXPECT_EQ(results[i].emitted[0].correlation_id, m.correlation_id);
    }
  }
  EXPECT_EQ(outcomes[Outcome::kOk], 7);
  EXPECT_EQ(outcomes[Outcome::kFailed], 5);
  EXPECT_EQ(outcomes[Outcome::kSkipped], 1);
}

}  // namespace
}  // namespace reprise
