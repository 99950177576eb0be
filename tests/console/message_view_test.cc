#include "reprise/console/message_view.h"

#include <gtest/gtest.h>

#include <sstream>

#include "reprise/console/commands.h"

namespace reprise::console {
namespace {

v1::Message Sample(const std::string& id, v1::Direction dir, const std::string& channel,
                   v1::Outcome outcome) {
  v1::Message m;
  m.set_id(id);
  m.set_direction(dir);
  m.set_channel(channel);
  m.set_key("account:42");
  m.set_outcome(outcome);
  m.mutable_recorded_at()->set_seconds(1732348512);
  m.mutable_recorded_at()->set_nanos(345000000);
  return m;
}

class MessageViewTest : public ::testing::Test {
 protected:
  std::ostringstream sink_;
  Output plain_{sink_, sink_, {.width = 120}};
};

TEST_F(MessageViewTest, EnumNames) {
  EXPECT_EQ(DirectionName(v1::IN), "in");
  EXPECT_EQ(DirectionName(v1::OUT), "out");
  EXPECT_EQ(DirectionName(v1::DIRECTION_UNSPECIFIED), "");
  EXPECT_EQ(OutcomeName(v1::FAILED), "failed");
  EXPECT_EQ(OutcomeName(v1::SKIPPED), "skipped");
  EXPECT_EQ(OutcomeStyle(v1::FAILED), Style::kRed);
}

TEST_F(MessageViewTest, MessageRowHasTheFindColumns) {
  Table t = MessageTable();
  auto m = Sample("01JD0000000000000000000001", v1::IN, "payments.received", v1::FAILED);
  m.set_error("timeout");
  AddMessageRow(t, m);
  std::string text = t.Render(200);
  EXPECT_NE(text.find("id                          recorded (UTC)           dir  channel"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("01JD0000000000000000000001  2024-11-23 07:55:12.345  in   "
                      "payments.received  account:42  failed   timeout"),
            std::string::npos)
      << text;
}

TEST_F(MessageViewTest, PayloadRendering) {
  EXPECT_EQ(RenderPayload("{\"a\":1}", "application/json"), "{\n  \"a\": 1\n}\n");
  EXPECT_EQ(RenderPayload("[1]", ""), "[\n  1\n]\n") << "JSON is detected, not declared";
  EXPECT_EQ(RenderPayload("hello", "text/plain"), "hello\n");
  EXPECT_EQ(RenderPayload("hello", "application/octet-stream"),
            "00000000  68 65 6c 6c 6f                                    |hello|\n");
  EXPECT_EQ(RenderPayload("\x1b[2J", "text/plain").rfind("00000000  1b", 0), 0u)
      << "control characters are never printed raw";
}

TEST_F(MessageViewTest, DetailShowsFieldsHeadersLineageAndPayload) {
  v1::GetMessageResponse r;
  auto* m = r.mutable_message();
  *m = Sample("01JD0000000000000000000002", v1::OUT, "balance.updated", v1::FAILED);
  m->set_error("downstream timeout after 5s");
  m->set_causation_id("01JD0000000000000000000001");
  (*m->mutable_headers())["zeta"] = "last";
  (*m->mutable_headers())["alpha"] = "first";
  m->set_payload("{\"balance\":\"1.00\"}");
  m->set_payload_size(18);
  m->set_content_type("application/json");
  *r.add_causes() = Sample("01JD0000000000000000000001", v1::IN, "payments.received", v1::OK);
  auto* copy = r.add_copies();
  *copy = Sample("01JD0000000000000000000009", v1::OUT, "balance.updated", v1::OK);
  copy->set_origin_id(m->id());

  std::string text = RenderMessageDetail(r, plain_);
  for (const char* expected :
       {"id            01JD0000000000000000000002\n", "recorded      2024-11-23 07:55:12.345 UTC\n",
        "direction     out\n", "outcome       failed\n", "error         downstream timeout after 5s\n",
        "causation     01JD0000000000000000000001\n", "origin        -\n",
        "headers (2)\n  alpha: first\n  zeta: last\n", "causes, parent first (1)\n",
        "effects (0)\n  none\n", "reflowed copies (1)\n",
        "payload (application/json, 18 bytes)\n{\n  \"balance\": \"1.00\"\n}\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
  EXPECT_NE(text.find("  01JD0000000000000000000001  2024-11-23 07:55:12.345  in   payments.received"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  01JD0000000000000000000009"), std::string::npos);
  EXPECT_EQ(text.find('\033'), std::string::npos) << "plain output has no escape codes";
}

TEST_F(MessageViewTest, WithheldAndBinaryPayloads) {
  v1::GetMessageResponse r;
  r.mutable_message()->set_payload_size(10);
  EXPECT_NE(RenderMessageDetail(r, plain_).find("not returned by the agent"), std::string::npos);
  r.mutable_message()->set_payload(std::string("\x00\xff", 2));
  r.mutable_message()->set_payload_size(2);
  EXPECT_NE(RenderMessageDetail(r, plain_).find("00000000  00 ff"), std::string::npos);
}

TEST_F(MessageViewTest, UntrustedFieldsCannotInjectEscapes) {
  v1::GetMessageResponse r;
  r.mutable_message()->set_key("acct\x1b]0;pwned\x07");
  (*r.mutable_message()->mutable_headers())["x"] = "\x1b[2J";
  std::string text = RenderMessageDetail(r, plain_);
  EXPECT_EQ(text.find('\033'), std::string::npos);
  EXPECT_NE(text.find("acct\\x1b]0;pwned\\x07"), std::string::npos);
}

TEST_F(MessageViewTest, StatusRendering) {
  v1::DescribeResponse d;
  d.set_service("ledger");
  d.set_instance("ledger-1");
  d.set_pid(1234);
  d.set_host("box");
  d.set_agent_version("0.1.0");
  d.set_api_version("reprise.v1");
  d.set_uptime_seconds(3725);
  auto* j = d.mutable_journal();
  j->set_backend("sqlite:/var/lib/ledger.journal");
  j->set_recorded(10);
  j->set_committed(9);
  j->set_queued(1);
  j->set_dropped(2);
  j->set_last_error("disk full");
  auto* c = d.add_channels();
  c->set_channel("payments.received");
  c->set_direction(v1::IN);
  c->set_messages(120);
  c->set_failed(3);
  c->set_unresolved(2);
  c->set_has_handler(true);
  d.add_handlers("payments.received");
  std::string text = RenderStatus(d, plain_);
  for (const char* expected :
       {"service     ledger  instance ledger-1  (pid 1234 on box)\n",
        "uptime      1h 2m 5s\n", "journal     sqlite:/var/lib/ledger.journal",
        "recorded 10  committed 9  queued 1  dropped 2", "health FAILING, last error: disk full\n",
        "1 record(s) wait in the queue and are written when the fault clears\n",
        "  channel            dir  messages  failed  unresolved  handler  sender\n",
        "  payments.received  in        120       3           2  yes      -\n",
        "handlers    payments.received\n", "senders     none\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
}

TEST_F(MessageViewTest, StatusRenderingOfAFaultAndItsRecovery) {
  v1::DescribeResponse d;
  auto* j = d.mutable_journal();
  j->set_backend("sqlite:/j");
  j->set_last_error("sqlite journal: commit: database or disk is full");
  j->set_write_failures(7);
  j->mutable_failing_since()->set_seconds(1700000000);  // 2023-11-14 22:13:20.000 UTC
  std::string text = RenderStatus(d, plain_);
  for (const char* expected :
       {"write failures 7  rejected 0\n",
        "health FAILING since 2023-11-14 22:13:20.000 UTC (for ",
        "), last error: sqlite journal: commit: database or disk is full\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
  EXPECT_EQ(text.find("wait in the queue"), std::string::npos) << "nothing is queued";

  // Recovered: healthy again, the fault stays visible.
  j->clear_last_error();
  j->clear_failing_since();
  j->set_healthy(true);
  j->set_last_fault("sqlite journal: commit: disk I/O error");
  j->mutable_last_fault_at()->set_seconds(1700000000);
  j->mutable_recovered_at()->set_seconds(1700000065);
  text = RenderStatus(d, plain_);
  EXPECT_NE(text.find("health ok\n"
                      "                   last fault 2023-11-14 22:13:20.000 UTC: sqlite journal: "
                      "commit: disk I/O error (recovered 2023-11-14 22:14:25.000 UTC)\n"),
            std::string::npos)
      << text;
}

TEST_F(MessageViewTest, StatusShowsTransportsWithCountersAndLastError) {
  v1::DescribeResponse d;
  EXPECT_EQ(RenderStatus(d, plain_).find("transports"), std::string::npos) << "none registered";
  auto* t = d.add_transports();
  t->set_name("amqp:payments");
  t->set_kind("amqp");
  t->set_endpoint("amqp://guest:****@127.0.0.1:5672/ queue payments");
  t->set_channel("payments.received");
  t->set_last_error("the broker closed the connection: 320 CONNECTION_FORCED");
  for (auto [name, value] : {std::pair{"delivered", 7}, std::pair{"unacked", 2}}) {
    auto* c = t->add_counters();
    c->set_name(name);
    c->set_value(value);
  }
  std::string text = RenderStatus(d, plain_);
  for (const char* expected :
       {"transports\n",
        "  amqp:payments  amqp  not connected  amqp://guest:****@127.0.0.1:5672/ queue payments -> "
        "payments.received\n",
        "      delivered 7  unacked 2\n",
        "      last error: the broker closed the connection: 320 CONNECTION_FORCED\n"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n---\n" << text;
  }
}

}  // namespace
}  // namespace reprise::console
