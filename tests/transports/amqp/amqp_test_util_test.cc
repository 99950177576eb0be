// The broker every test of this binary uses, the helpers of amqp_test_util.h,
// and the unit tests of what needs no broker.
#include <amqp_tcp_socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include "amqp_test_util.h"
#include "payload_key.h"
#include "reprise/amqp/connection.h"

namespace reprise::testing {
namespace {

class BrokerEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto s = RabbitServer::Shared();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }
};

const auto* const kBroker = ::testing::AddGlobalTestEnvironment(new BrokerEnvironment);

}  // namespace

RabbitServer& Broker() {
  auto s = RabbitServer::Shared();
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    std::abort();
  }
  return **s;
}

uint64_t Counter(const TransportStatus& s, const std::string& name) {
  for (const auto& [n, v] : s.counters) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no counter " << name;
  return 0;
}

std::string UniqueQueue(const std::string& base) {
  static std::atomic<int> n{0};
  return base + "." + std::to_string(getpid()) + "." + std::to_string(n.fetch_add(1));
}

RawAmqp::RawAmqp() : c_(amqp_new_connection()) {
  amqp_socket_t* s = amqp_tcp_socket_new(c_);
  EXPECT_EQ(amqp_socket_open(s, "127.0.0.1", Broker().port()), AMQP_STATUS_OK);
  amqp_rpc_reply_t r = amqp_login(c_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
  EXPECT_EQ(r.reply_type, AMQP_RESPONSE_NORMAL);
  amqp_channel_open(c_, 1);
  Check("channel.open");
}

RawAmqp::~RawAmqp() {
  amqp_channel_close(c_, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(c_, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c_);
}

void RawAmqp::Check(const char* what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(c_);
  ASSERT_EQ(r.reply_type, AMQP_RESPONSE_NORMAL) << what;
}

void RawAmqp::DeclareQueue(const std::string& queue, const std::string& dlx) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes("x-dead-letter-exchange");
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = amqp_cstring_bytes(dlx.c_str());
  amqp_queue_declare(c_, 1, amqp_cstring_bytes(queue.c_str()), 0, 1, 0, 0,
                     dlx.empty() ? amqp_empty_table : amqp_table_t{1, &e});
  Check("queue.declare");
}

void RawAmqp::DeclareExchange(const std::string& exchange, const std::string& type) {
  amqp_exchange_declare(c_, 1, amqp_cstring_bytes(exchange.c_str()), amqp_cstring_bytes(type.c_str()), 0, 1, 0, 0,
                        amqp_empty_table);
  Check("exchange.declare");
}

void RawAmqp::Bind(const std::string& queue, const std::string& exchange, const std::string& key) {
  amqp_queue_bind(c_, 1, amqp_cstring_bytes(queue.c_str()), amqp_cstring_bytes(exchange.c_str()),
                  amqp_cstring_bytes(key.c_str()), amqp_empty_table);
  Check("queue.bind");
}

void RawAmqp::Publish(const std::string& queue, const std::string& body, const std::string& message_id,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<amqp_table_entry_t> entries;
  for (const auto& [k, v] : headers) {
    amqp_table_entry_t e;
    e.key = amqp_cstring_bytes(k.c_str());
    e.value.kind = AMQP_FIELD_KIND_UTF8;
    e.value.value.bytes = amqp_cstring_bytes(v.c_str());
    entries.push_back(e);
  }
  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG |
             AMQP_BASIC_HEADERS_FLAG;
  p.delivery_mode = 2;
  p.message_id = amqp_cstring_bytes(message_id.c_str());
  p.content_type = amqp_cstring_bytes("application/json");
  p.headers = {static_cast<int>(entries.size()), entries.data()};
  ASSERT_EQ(amqp_basic_publish(c_, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0, 0, &p,
                               amqp_cstring_bytes(body.c_str())),
            AMQP_STATUS_OK);
}

std::optional<RawAmqp::Got> RawAmqp::Get(const std::string& queue) {
  amqp_rpc_reply_t r = amqp_basic_get(c_, 1, amqp_cstring_bytes(queue.c_str()), /*no_ack=*/1);
  EXPECT_EQ(r.reply_type, AMQP_RESPONSE_NORMAL);
  if (r.reply_type != AMQP_RESPONSE_NORMAL || r.reply.id != AMQP_BASIC_GET_OK_METHOD) return std::nullopt;
  amqp_message_t m;
  r = amqp_read_message(c_, 1, &m, 0);
  EXPECT_EQ(r.reply_type, AMQP_RESPONSE_NORMAL);
  Got got;
  got.body.assign(static_cast<const char*>(m.body.bytes), m.body.len);
  if (m.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < m.properties.headers.num_entries; ++i) {
      const amqp_table_entry_t& e = m.properties.headers.entries[i];
      if (e.value.kind != AMQP_FIELD_KIND_UTF8) continue;
      got.headers.emplace_back(std::string(static_cast<const char*>(e.key.bytes), e.key.len),
                               std::string(static_cast<const char*>(e.value.value.bytes.bytes),
                                           e.value.value.bytes.len));
    }
  }
  amqp_destroy_message(&m);
  return got;
}

std::vector<Message> ReadJournal(const std::string& url, const std::string& filter) {
  auto j = Journal::Open(url);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  std::vector<Message> out;
  if (!j.ok()) return out;
  ListQuery q{.filter = filter, .page_size = kMaxPageSize, .oldest_first = true};
  while (true) {
    auto page = (*j)->List(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    if (!page.ok()) break;
    out.insert(out.end(), page->messages.begin(), page->messages.end());
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  return out;
}

namespace {

TEST(PayloadField, FindsStringsNumbersAndNestedMembers) {
  using amqp::PayloadField;
  EXPECT_EQ(PayloadField(R"({"account":"a:1","amount":5})", "account"), "a:1");
  EXPECT_EQ(PayloadField(R"({"x":[1,{"y":2}],"amount":-5.5e2})", "amount"), "-5.5e2");
  EXPECT_EQ(PayloadField(R"({"a":{"b":{"id":"k\"\u00e9"}}})", "a.b.id"), "k\"\xc3\xa9");
  EXPECT_EQ(PayloadField(R"({"ok":true})", "ok"), "true");
  EXPECT_EQ(PayloadField(R"({"a":null})", "a"), std::nullopt);
  EXPECT_EQ(PayloadField(R"({"a":{"b":1}})", "a"), std::nullopt);  // an object is no key
  EXPECT_EQ(PayloadField(R"({"a":1})", "b"), std::nullopt);
  EXPECT_EQ(PayloadField("not json", "a"), std::nullopt);
  EXPECT_EQ(PayloadField(R"({"a":)", "a"), std::nullopt);
}

TEST(RedactedUrl, HidesThePasswordOnly) {
  EXPECT_EQ(amqp::RedactedUrl("amqp://user:secret@host:5672/vh"), "amqp://user:****@host:5672/vh");
  EXPECT_EQ(amqp::RedactedUrl("amqps://host/"), "amqps://host/");
  EXPECT_EQ(amqp::RedactedUrl("amqp://user@host/"), "amqp://user@host/");
}

}  // namespace
}  // namespace reprise::testing
