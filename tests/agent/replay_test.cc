// reprise_replay: loading export files and replaying their messages through a
// handler with the agent's semantics.
#include "reprise/agent/replay.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "reprise/store/journal.h"
#include "support/test_env.h"

namespace reprise::replay {
namespace {

// Lines as the console writes them (MessageToJsonString with proto field
// names), plus a blank line and a CRLF line ending as editors leave them.
constexpr std::string_view kExport =
    R"({"id":"01HX0000000000000000000001","direction":"IN","channel":"payments.received",)"
    R"("key":"account:42","correlation_id":"01HX0000000000000000000001",)"
    R"("headers":{"tenant":"acme"},"payload":"eyJhbW91bnQiOiJ4In0=",)"
    R"("content_type":"application/json","recorded_at":"2024-05-01T12:00:00.123456Z",)"
    R"("outcome":"FAILED","error":"invalid amount","attempt":1,"payload_size":"14"})"
    "\n"
    "\n"
    R"({"id":"01HX0000000000000000000002","direction":"IN","channel":"frames.received",)"
    R"("key":"device:7","payload":"AAH/gA==","outcome":"OK","attempt":2,)"
    R"("origin_id":"01HX0000000000000000000000","job_id":"17"})"
    "\r\n"
    "   \n";

TEST(ReplayTest, ParsesExportLinesIncludingBinaryPayloads) {
  auto messages = ParseExport(kExport, "case.jsonl");
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 2u);

  const Message& a = (*messages)[0];
  EXPECT_EQ(a.id, "01HX0000000000000000000001");
  EXPECT_EQ(a.direction, Direction::kIn);
  EXPECT_EQ(a.channel, "payments.received");
  EXPECT_EQ(a.key, "account:42");
  EXPECT_EQ(a.correlation_id, "01HX0000000000000000000001");
  EXPECT_EQ(a.headers, (Headers{{"tenant", "acme"}}));
  EXPECT_EQ(a.payload, "{\"amount\":\"x\"}");
  EXPECT_EQ(a.payload_size, 14u);
  EXPECT_EQ(a.content_type, "application/json");
  EXPECT_EQ(a.recorded_at_us, 1714564800123456);
  EXPECT_EQ(a.outcome, Outcome::kFailed);
  EXPECT_EQ(a.error, "invalid amount");
  EXPECT_EQ(a.attempt, 1u);

  const Message& b = (*messages)[1];
  EXPECT_EQ(b.payload, std::string("\x00\x01\xff\x80", 4));
  EXPECT_EQ(b.outcome, Outcome::kOk);
  EXPECT_EQ(b.attempt, 2u);
  EXPECT_EQ(b.origin_id, "01HX0000000000000000000000");
  EXPECT_EQ(b.job_id, "17");
}

TEST(ReplayTest, MissingFieldsGetMessageDefaults) {
  auto messages = ParseExport(R"({"channel":"c","payload":"aGk="})");
  ASSERT_TRUE(messages.ok()) << messages.status().ToString();
  ASSERT_EQ(messages->size(), 1u);
  EXPECT_EQ((*messages)[0].direction, Direction::kIn);
  EXPECT_EQ((*messages)[0].outcome, Outcome::kPending);
  EXPECT_EQ((*messages)[0].attempt, 1u);
  EXPECT_EQ((*messages)[0].payload, "hi");
}

TEST(ReplayTest, EmptyExportHasNoMessages) {
  auto messages = ParseExport("\n\n");
  ASSERT_TRUE(messages.ok());
  EXPECT_TRUE(messages->empty());
}

TEST(ReplayTest, BadLinesAreErrorsNamingFileAndLine) {
  struct Case {
    std::string text;
    std::string expect;  // in the error message
  };
  const Case cases[] = {
      {"{\"channel\":\"c\"}\n\nnot json\n", "case.jsonl:3: not a reprise.v1.Message in JSON"},
      {"{\"chanel\":\"c\"}\n", "chanel"},                     // unknown field: a typo
      {"{\"channel\":\"c\",\"outcome\":\"BROKEN\"}\n", "case.jsonl:1:"},  // unknown enum name
      {"{\"payload\":\"not base64!\"}\n", "case.jsonl:1:"},
      {"{\"recorded_at\":\"yesterday\"}\n", "case.jsonl:1:"},
      {"{\"channel\":\"c\"} trailing\n", "case.jsonl:1:"},
      {"[1,2]\n", "case.jsonl:1:"},
  };
  for (const Case& c : cases) {
    auto messages = ParseExport(c.text, "case.jsonl");
    ASSERT_FALSE(messages.ok()) << c.text;
    EXPECT_EQ(messages.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(messages.status().message().find(c.expect), std::string::npos)
        << c.text << " -> " << messages.status().message();
  }
}

TEST(ReplayTest, LoadExportReadsAFileAndNamesItInErrors) {
  testing::TempDir dir;
  const std::string path = dir.File("case.jsonl");
  { std::ofstream(path) << kExport << "{oops\n"; }
  auto messages = LoadExport(path);
  ASSERT_FALSE(messages.ok());
  EXPECT_NE(messages.status().message().find(path + ":5:"), std::string::npos)
      << messages.status().message();

  auto missing = LoadExport(dir.File("missing.jsonl"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.jsonl"), std::string::npos);
}

TEST(ReplayTest, WriteExportRoundTripsEveryField) {
  Message m;
  m.id = "01HX0000000000000000000009";
  m.direction = Direction::kOut;
  m.channel = "balance.updated";
  m.key = "account:1";
  m.correlation_id = "01HX0000000000000000000001";
  m.causation_id = "01HX0000000000000000000002";
  m.headers = {{"a", "1"}, {"b", "line\nbreak"}};
  m.payload = std::string("\0bin\"ary\n", 9);
  m.payload_size = 9;
  m.content_type = "application/octet-stream";
  m.recorded_at_us = 1714564800000001;
  m.outcome = Outcome::kSkipped;
  m.error = "no sender registered for channel balance.updated";
  m.attempt = 3;
  m.origin_id = "01HX0000000000000000000003";
  m.job_id = "5";
  m.flow_variant = "v2";

  const std::string line = ExportLine(m);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"correlation_id\":"), std::string::npos) << line;
  EXPECT_NE(line.find("\"recorded_at\":\"2024-05-01T12:00:00.000001Z\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"outcome\":\"SKIPPED\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"direction\":\"OUT\""), std::string::npos) << line;

  testing::TempDir dir;
  ASSERT_TRUE(WriteExport(dir.File("x.jsonl"), {m, m}).ok());
  auto back = LoadExport(dir.File("x.jsonl"));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  const Message& r = (*back)[1];
  EXPECT_EQ(r.id, m.id);
  EXPECT_EQ(r.direction, m.direction);
  EXPECT_EQ(r.channel, m.channel);
  EXPECT_EQ(r.key, m.key);
  EXPECT_EQ(r.correlation_id, m.correlation_id);
  EXPECT_EQ(r.causation_id, m.causation_id);
  EXPECT_EQ(r.headers, m.headers);
  EXPECT_EQ(r.payload, m.payload);
  EXPECT_EQ(r.payload_size, m.payload_size);
  EXPECT_EQ(r.content_type, m.content_type);
  EXPECT_EQ(r.recorded_at_us, m.recorded_at_us);
  EXPECT_EQ(r.outcome, m.outcome);
  EXPECT_EQ(r.error, m.error);
  EXPECT_EQ(r.attempt, m.attempt);
  EXPECT_EQ(r.origin_id, m.origin_id);
  EXPECT_EQ(r.job_id, m.job_id);
  EXPECT_EQ(r.flow_variant, m.flow_variant);

  EXPECT_FALSE(WriteExport(dir.File("no/such/dir/x.jsonl"), {m}).ok());
}

Message Inbound(std::string channel, std::string payload) {
  Message m;
  m.id = "01HX0000000000000000000001";
  m.channel = std::move(channel);
  m.key = "account:42";
  m.correlation_id = "01HX0000000000000000000000";
  m.payload = std::move(payload);
  m.outcome = Outcome::kFailed;  // as recorded: the handler must not see it
  m.error = "recorded error";
  m.job_id = "9";
  return m;
}

// A handler with every way to end: ok (emitting), failed, throwing.
Status PaymentHandler(const Message& in, Context& ctx) {
  EXPECT_EQ(&ctx.message(), &in);
  EXPECT_EQ(in.outcome, Outcome::kPending);
  EXPECT_EQ(in.error, "");
  if (in.payload == "bad") return InvalidArgument("invalid amount");
  if (in.payload == "throw") throw std::runtime_error("division by zero");
  if (in.payload == "throw-int") throw 42;
  ctx.Emit("balance.updated", in.key, "{\"balance\":\"1.00\"}", {{"h", "v"}});
  ctx.Emit("audit.binary", in.key, std::string("\x01\x02", 2));
  ctx.Emit("audit.text", in.key, "plain", {}, "text/x-custom");
  return Status::Ok();
}

TEST(ReplayTest, OkCollectsEmittedMessagesWithoutSendingThem) {
  ReplayResult r = Replay(Inbound("payments.received", "{}"), PaymentHandler);
  EXPECT_EQ(r.outcome, Outcome::kOk);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.status.ok());
  ASSERT_EQ(r.emitted.size(), 3u);
  const Message& out = r.emitted[0];
  EXPECT_EQ(out.direction, Direction::kOut);
  EXPECT_EQ(out.channel, "balance.updated");
  EXPECT_EQ(out.key, "account:42");
  EXPECT_EQ(out.payload, "{\"balance\":\"1.00\"}");
  EXPECT_EQ(out.headers, (Headers{{"h", "v"}}));
  EXPECT_EQ(out.content_type, "application/json");
  EXPECT_EQ(out.causation_id, "01HX0000000000000000000001");
  EXPECT_EQ(out.correlation_id, "01HX0000000000000000000000");
  EXPECT_EQ(out.job_id, "9");
  EXPECT_EQ(out.outcome, Outcome::kPending);
  EXPECT_EQ(r.emitted[1].content_type, "application/octet-stream");
  EXPECT_EQ(r.emitted[2].content_type, "text/x-custom");
}

TEST(ReplayTest, OutcomesFollowTheAgent) {
  ReplayResult failed = Replay(Inbound("payments.received", "bad"), PaymentHandler);
  EXPECT_EQ(failed.outcome, Outcome::kFailed);
  EXPECT_EQ(failed.error, "invalid amount");
  EXPECT_EQ(failed.status, InvalidArgument("invalid amount"));

  ReplayResult threw = Replay(Inbound("payments.received", "throw"), PaymentHandler);
  EXPECT_EQ(threw.outcome, Outcome::kFailed);
  EXPECT_EQ(threw.error, "handler for payments.received threw: division by zero");
  EXPECT_EQ(threw.status.code(), StatusCode::kUnknown);

  ReplayResult odd = Replay(Inbound("payments.received", "throw-int"), PaymentHandler);
  EXPECT_EQ(odd.outcome, Outcome::kFailed);
  EXPECT_EQ(odd.error, "handler for payments.received threw a non-standard exception");

  ReplayResult none = Replay(Inbound("payments.received", "{}"), Handler());
  EXPECT_EQ(none.outcome, Outcome::kSkipped);
  EXPECT_EQ(none.error, "no handler registered for channel payments.received");
}

TEST(ReplayTest, VectorVersionsReplayInOrder) {
  std::vector<Message> in = {Inbound("payments.received", "{}"),
                             Inbound("payments.received", "bad"), Inbound("other", "{}")};
  std::vector<ReplayResult> one = Replay(in, PaymentHandler);
  ASSERT_EQ(one.size(), 3u);
  EXPECT_EQ(one[0].outcome, Outcome::kOk);
  EXPECT_EQ(one[1].outcome, Outcome::kFailed);
  EXPECT_EQ(one[2].outcome, Outcome::kOk);  // same handler for every channel

  std::vector<ReplayResult> by_channel = Replay(in, Handlers{{"payments.received", PaymentHandler}});
  ASSERT_EQ(by_channel.size(), 3u);
  EXPECT_EQ(by_channel[0].outcome, Outcome::kOk);
  EXPECT_EQ(by_channel[1].outcome, Outcome::kFailed);
  EXPECT_EQ(by_channel[2].outcome, Outcome::kSkipped);
  EXPECT_EQ(by_channel[2].error, "no handler registered for channel other");
}

TEST(ReplayTest, ReproducesComparesOutcomeAndError) {
  Message recorded = Inbound("payments.received", "bad");
  recorded.error = "invalid amount";
  ReplayResult r = Replay(recorded, PaymentHandler);
  EXPECT_TRUE(Reproduces(recorded, r));
  EXPECT_EQ(Mismatch(recorded, r), "");

  ReplayResult fixed = Replay(recorded, [](const Message&, Context&) { return Status::Ok(); });
  EXPECT_FALSE(Reproduces(recorded, fixed));
  EXPECT_EQ(Mismatch(recorded, fixed),
            "message 01HX0000000000000000000001 (payments.received, account:42): "
            "recorded failed \"invalid amount\", replayed ok");

  ReplayResult other = Replay(recorded, [](const Message&, Context&) { return Internal("x"); });
  EXPECT_FALSE(Reproduces(recorded, other));  // same outcome, different error
  EXPECT_NE(Mismatch(recorded, other).find("replayed failed \"x\""), std::string::npos);

  recorded.outcome = Outcome::kPending;
  recorded.error.clear();
  EXPECT_NE(Mismatch(recorded, fixed).find("nothing to reproduce"), std::string::npos);

  std::ostringstream printed;
  PrintTo(fixed, &printed);
  EXPECT_EQ(printed.str(), "{ok, emitted 0}");
}

// Rounding that v1 gets wrong and v2 fixes; consults a second flow when asked.
Status RoundingHandler(const Message& in, Context& ctx) {
  std::string rounding = ctx.Flow("ledger.rounding");
  if (in.payload == "two-flows") (void)ctx.Flow("ledger.fees");
  if (rounding == "v1") return Internal("rounding error on " + in.key);
  ctx.Emit("balance.updated", in.key, "rounded by " + rounding);
  return Status::Ok();
}

TEST(ReplayTest, FlowsResolveToTheRecordedVariantUnlessOverridden) {
  Message recorded = Inbound("payments.received", "{}");
  recorded.error = "rounding error on account:42";
  recorded.flow_variant = "v1";
  ReplayResult r = Replay(recorded, RoundingHandler);
  EXPECT_EQ(Mismatch(recorded, r), "");
  EXPECT_EQ(r.flow_variant, "v1");

  // Would v2 have handled it?
  ReplayResult v2 = Replay(recorded, RoundingHandler, {.flows = {{"ledger.rounding", "v2"}}});
  EXPECT_EQ(v2.outcome, Outcome::kOk);
  EXPECT_EQ(v2.flow_variant, "v2");
  ASSERT_EQ(v2.emitted.size(), 1u);
  EXPECT_EQ(v2.emitted[0].payload, "rounded by v2");
  std::ostringstream printed;
  PrintTo(v2, &printed);
  EXPECT_EQ(printed.str(), "{ok, flow v2, emitted 1 balance.updated/account:42}");

  // Several flows are recorded as flow=variant,...
  recorded.payload = "two-flows";
  recorded.outcome = Outcome::kOk;
  recorded.error.clear();
  recorded.flow_variant = "ledger.rounding=v2,ledger.fees=f3";
  ReplayResult two = Replay(recorded, RoundingHandler);
  EXPECT_EQ(Mismatch(recorded, two), "");
  EXPECT_EQ(two.flow_variant, "ledger.rounding=v2,ledger.fees=f3");
  ReplayResult fees = Replay(recorded, RoundingHandler, {.flows = {{"ledger.fees", "f4"}}});
  EXPECT_EQ(fees.flow_variant, "ledger.rounding=v2,ledger.fees=f4");

  // No flow recorded: "" as for an undeclared flow (recorded as the agent does).
  recorded.flow_variant.clear();
  EXPECT_EQ(Replay(recorded, RoundingHandler).flow_variant, "ledger.rounding=,ledger.fees=");
}

// The replay's outcome and error are the agent's, byte for byte: deliver the
// same inputs through a real agent and compare with what it journaled.
TEST(ReplayTest, MatchesWhatTheAgentRecords) {
  testing::TempDir dir;
  const std::string url = "sqlite:" + dir.File("parity.journal");
  auto agent = Agent::Start({.service = "parity", .journal = url, .listen = ""});
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  (*agent)->Handle("payments.received", PaymentHandler);
  ASSERT_TRUE((*agent)->Flow("ledger.rounding", {"v1", "v2"}, "v1").ok());
  ASSERT_TRUE((*agent)->Flow("ledger.fees", {"f1", "f2"}, "f2").ok());
  (*agent)->Handle("rounding.requested", RoundingHandler);
  std::vector<std::string> ids;
  for (const char* payload : {"{}", "bad", "throw", "throw-int"}) {
    ids.push_back((*agent)->Deliver("payments.received", "account:1", payload).id);
  }
  ids.push_back((*agent)->Deliver("unhandled.channel", "account:1", "{}").id);
  ids.push_back((*agent)->Deliver("rounding.requested", "account:1", "{}").id);
  ids.push_back((*agent)->Deliver("rounding.requested", "account:1", "two-flows").id);
  const Handlers handlers = {{"payments.received", PaymentHandler},
                             {"rounding.requested", RoundingHandler}};
  ASSERT_TRUE((*agent)->Flush().ok());

  auto journal = Journal::Open(url);
  ASSERT_TRUE(journal.ok());
  for (const std::string& id : ids) {
    auto lineage = (*journal)->Get(id);
    ASSERT_TRUE(lineage.ok()) << lineage.status().ToString();
    const Message& recorded = lineage->message;
    ReplayResult r = std::move(Replay({recorded}, handlers)[0]);
    EXPECT_EQ(Mismatch(recorded, r), "");
    EXPECT_EQ(r.flow_variant, recorded.flow_variant);
    if (r.outcome == Outcome::kOk) {
      EXPECT_EQ(r.emitted.size(), lineage->effects.size());
    }
  }
}

}  // namespace
}  // namespace reprise::replay
