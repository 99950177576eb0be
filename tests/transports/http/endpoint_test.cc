// The HTTP endpoint over real loopback HTTP, with a real SQLite journal read
// back through a second connection: answers come after the commit, statuses
// map as documented, the record id header names the journal's record.
#include "reprise/http/endpoint.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <future>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "reprise/store/journal.h"
#include "support/fault_vfs.h"
#include "support/test_env.h"

namespace reprise::http {
namespace {

using namespace std::chrono_literals;
using testing::FaultVfs;

class EndpointTest : public ::testing::Test {
 protected:
  void StartAgent(AgentOptions options) {
    FaultVfs::Register();
    path_ = dir_.File("http.journal");
    options.service = "http-test";
    options.journal = "sqlite:" + path_ + "?vfs=" + FaultVfs::kName;
    options.listen = "";
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", [this](const Message& in, Context&) {
      handled_++;
      if (in.payload.find("\"fail\"") != std::string::npos) return Internal("boom: cannot post it");
      return Status::Ok();
    });
    agent_->Handle("audit.logged", [](const Message&, Context&) { return Status::Ok(); });
  }
  void StartEndpoint(EndpointOptions options = {}) {
    if (options.channels.empty()) {
      options.channels = {{.name = "payments.received", .key_path = "account.id"},
                          {.name = "audit.logged", .key_header = "X-Audit-Key"}};
    }
    auto e = Endpoint::Start(*agent_, options);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    endpoint_ = std::move(*e);
    client_ = std::make_unique<httplib::Client>("http://" + endpoint_->listen_address());
    client_->set_read_timeout(30s);
  }
  void Start(AgentOptions options = {}, EndpointOptions endpoint = {}) {
    StartAgent(options);
    StartEndpoint(endpoint);
  }
  void TearDown() override {
    FaultVfs::Clear();
    endpoint_.reset();
    agent_.reset();
  }
  httplib::Result Post(const std::string& channel, const std::string& body,
                       httplib::Headers headers = {}) {
    return client_->Post("/channels/" + channel, headers, body, "application/json");
  }
  // The journal, through a connection of its own (as an operator's query).
  std::unique_ptr<Journal> Reader() {
    auto j = Journal::Open("sqlite:" + path_);
    EXPECT_TRUE(j.ok()) << j.status().ToString();
    return j.ok() ? std::move(*j) : nullptr;
  }
  std::optional<Message> Read(const std::string& id) {
    auto j = Reader();
    auto got = j->Get(id);
    if (!got.ok()) return std::nullopt;
    return got->message;
  }
  uint64_t CountAll() {
    auto c = Reader()->Count("", "");
    EXPECT_TRUE(c.ok());
    uint64_t n = 0;
    for (const auto& row : *c) n += row.count;
    return n;
  }

  testing::TempDir dir_;
  std::string path_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<Endpoint> endpoint_;
  std::unique_ptr<httplib::Client> client_;
  std::atomic<int> handled_{0};
};

TEST_F(EndpointTest, AnOkAnswerComesOnceTheRecordAndItsOutcomeAreCommitted) {
  Start({.durability = Durability::kAsync});
  auto res = Post("payments.received", R"({"account":{"id":"acc-7"},"amount":"12.50"})",
                  {{"X-Trace", "t-1"}, {"X-Trace", "t-2"}, {"Idempotency-Key", "k9"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200) << res->body;
  const std::string id = res->get_header_value(kRecordIdHeader);
  ASSERT_FALSE(id.empty());
  EXPECT_NE(res->body.find(id), std::string::npos) << res->body;
  // Read at once through another connection: in async durability the answer
  // waited for the commit, outcome included.
  std::optional<Message> m = Read(id);
  ASSERT_TRUE(m.has_value()) << "answered 200 before the record was committed";
  EXPECT_EQ(m->channel, "payments.received");
  EXPECT_EQ(m->key, "acc-7");
  EXPECT_EQ(m->direction, Direction::kIn);
  EXPECT_EQ(m->outcome, Outcome::kOk);
  EXPECT_EQ(m->content_type, "application/json");
  EXPECT_EQ(m->headers["x-trace"], "t-1, t-2");
  EXPECT_EQ(m->headers["idempotency-key"], "k9");
  EXPECT_EQ(m->headers.count("content-length"), 0u);
  EXPECT_EQ(m->headers.count("remote_addr"), 0u);
  EXPECT_EQ(m->payload, R"({"account":{"id":"acc-7"},"amount":"12.50"})");
}

TEST_F(EndpointTest, AFailedHandlerIs500WithTheRecordCommittedAsFailed) {
  Start();
  auto res = Post("payments.received", R"({"account":{"id":42},"note":"fail"})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find("the handler failed: boom: cannot post it"), std::string::npos) << res->body;
  const std::string id = res->get_header_value(kRecordIdHeader);
  std::optional<Message> m = Read(id);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->key, "42") << "a number names the key as JSON writes it";
  EXPECT_EQ(m->outcome, Outcome::kFailed);
  EXPECT_NE(m->error.find("boom"), std::string::npos);
}

TEST_F(EndpointTest, RefusedRequestsAre4xxAndRecordNothing) {
  Start({.max_payload_bytes = 3000}, {.max_body_bytes = 5000});
  auto bad_json = Post("payments.received", R"({"account": )");
  ASSERT_TRUE(bad_json);
  EXPECT_EQ(bad_json->status, 400);
  EXPECT_NE(bad_json->body.find("takes JSON and the body is not"), std::string::npos) << bad_json->body;
  EXPECT_FALSE(bad_json->has_header(kRecordIdHeader));

  auto no_key = Post("payments.received", R"({"account":{"name":"x"}})");
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 400);
  EXPECT_NE(no_key->body.find("no field \"account.id\""), std::string::npos) << no_key->body;

  auto no_header = Post("audit.logged", "plain text");
  ASSERT_TRUE(no_header);
  EXPECT_EQ(no_header->status, 400);
  EXPECT_NE(no_header->body.find("X-Audit-Key header"), std::string::npos) << no_header->body;

  auto too_big = Post("audit.logged", std::string(6000, 'x'), {{"X-Audit-Key", "a"}});
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_NE(too_big->body.find("max_body_bytes (5000 bytes)"), std::string::npos) << too_big->body;

  // Within the endpoint's bound but over the agent's max_payload_bytes.
  auto over_agent = Post("audit.logged", std::string(4000, 'x'), {{"X-Audit-Key", "a"}});
  ASSERT_TRUE(over_agent);
  EXPECT_EQ(over_agent->status, 413);
  EXPECT_NE(over_agent->body.find("max_payload_bytes"), std::string::npos) << over_agent->body;

  auto unknown = Post("paymnets.received", "{}");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("did you mean \"payments.received\"?"), std::string::npos) << unknown->body;

  auto elsewhere = client_->Get("/channels/payments.received");
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status, 404);
  EXPECT_NE(elsewhere->body.find("POST /channels/NAME"), std::string::npos) << elsewhere->body;

  ASSERT_TRUE(agent_->Flush().ok());
  EXPECT_EQ(CountAll(), 0u);
  EXPECT_EQ(handled_, 0);

  auto ok = Post("audit.logged", "plain text", {{"X-Audit-Key", "user:1"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  std::optional<Message> m = Read(ok->get_header_value(kRecordIdHeader));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->key, "user:1");
  EXPECT_EQ(m->headers["x-audit-key"], "user:1");

  EndpointStats s = endpoint_->Stats();
  EXPECT_EQ(s.requests, 8u);
  EXPECT_EQ(s.answered_2xx, 1u);
  EXPECT_EQ(s.answered_4xx, 7u);
  EXPECT_EQ(s.answered_5xx, 0u);
  EXPECT_NE(s.last_error.find("404 GET /channels/payments.received"), std::string::npos) << s.last_error;
}

TEST_F(EndpointTest, AnAnswerWaitsForAStuckJournalAndComesOnItsRecovery) {
  Start({.durability = Durability::kAsync}, {.commit_timeout = 60s});
  FaultVfs::Inject(FaultVfs::kDiskFull);
  auto answer = std::async(std::launch::async, [&] {
    return Post("payments.received", R"({"account":{"id":"a"}})");
  });
  EXPECT_EQ(answer.wait_for(700ms), std::future_status::timeout)
      << "answered while the journal could not commit";
  EXPECT_EQ(handled_, 1) << "async: the handler ran, the answer waits";
  FaultVfs::Clear();
  auto res = answer.get();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  std::optional<Message> m = Read(res->get_header_value(kRecordIdHeader));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->outcome, Outcome::kOk);
}

TEST_F(EndpointTest, AJournalThatDoesNotCommitInTimeGives503AndTheRecordLandsOnRecovery) {
  Start({.durability = Durability::kAsync}, {.commit_timeout = 300ms});
  FaultVfs::Inject(FaultVfs::kDiskFull);
  auto res = Post("payments.received", R"({"account":{"id":"a"}})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("not committed to the journal within 300 ms"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("full"), std::string::npos) << "says why: " << res->body;
  const std::string id = res->get_header_value(kRecordIdHeader);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(endpoint_->Stats().commit_timeouts, 1u);
  EXPECT_EQ(endpoint_->Stats().answered_5xx, 1u);
  EXPECT_NE(endpoint_->Stats().last_error.find("503 POST /channels/payments.received"), std::string::npos);

  FaultVfs::Clear();
  Status flushed;
  for (int i = 0; i < 100 && !(flushed = agent_->Flush()).ok(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  std::optional<Message> m = Read(id);
  ASSERT_TRUE(m.has_value()) << "the record is written once the journal recovers";
  EXPECT_EQ(m->outcome, Outcome::kOk);
}

TEST_F(EndpointTest, InProcessDurabilityWithoutAnIntentLogARecordThatCannotCommitIs503AndTheHandlerDoesNotRun) {
  Start({.durability = Durability::kProcess, .intent_log = "none"}, {.commit_timeout = 300ms});
  auto first = Post("payments.received", R"({"account":{"id":"a"}})");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  ASSERT_TRUE(Read(first->get_header_value(kRecordIdHeader)).has_value());
  FaultVfs::Inject(FaultVfs::kIoError);
  auto res = Post("payments.received", R"({"account":{"id":"a"}})");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("not handled, retry later"), std::string::npos) << res->body;
  EXPECT_EQ(handled_, 1) << "the handler runs only after the inbound record is committed";
}

TEST_F(EndpointTest, ConcurrentClientsEachGetTheirOwnCommittedRecord) {
  Start({}, {.threads = 4});
  constexpr int kClients = 8, kEach = 40;
  std::vector<std::vector<std::string>> ids(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("http://" + endpoint_->listen_address());
      for (int i = 0; i < kEach; ++i) {
        auto res = client.Post("/channels/payments.received",
                               R"({"account":{"id":"c)" + std::to_string(c) + R"("}})",
                               "application/json");
        if (res && res->status == 200) ids[c].push_back(res->get_header_value(kRecordIdHeader));
      }
    });
  }
  for (auto& t : clients) t.join();
  std::set<std::string> all;
  for (const auto& v : ids) {
    EXPECT_EQ(v.size(), static_cast<size_t>(kEach));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kClients * kEach));
  EXPECT_EQ(CountAll(), static_cast<uint64_t>(kClients * kEach)) << "every answered record is committed";
  EXPECT_EQ(endpoint_->Stats().answered_2xx, static_cast<uint64_t>(kClients * kEach));
}

TEST_F(EndpointTest, BadOptionsAreRefusedWithWhatToChange) {
  StartAgent({});
  auto neither = Endpoint::Start(*agent_, {.channels = {{.name = "a"}}});
  ASSERT_FALSE(neither.ok());
  EXPECT_EQ(neither.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(neither.status().message().find("exactly one of key_header"), std::string::npos);
  auto twice = Endpoint::Start(*agent_, {.channels = {{.name = "a", .key_header = "K"},
                                                      {.name = "a", .key_header = "K"}}});
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
  auto bad_listen = Endpoint::Start(*agent_, {.listen = "localhost"});
  EXPECT_EQ(bad_listen.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_listen.status().message().find("host:port"), std::string::npos);

  StartEndpoint();
  auto taken = Endpoint::Start(*agent_, {.listen = endpoint_->listen_address(),
                                         .channels = {{.name = "a", .key_header = "K"}}});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(taken.status().message().find(endpoint_->listen_address()), std::string::npos);
}

// A client nobody here wrote: Python's urllib.
TEST_F(EndpointTest, PythonUrllibPostsAndReadsTheRecordId) {
  Start();
  const std::string script = R"(
import sys, urllib.request, urllib.error
url = "http://" + sys.argv[1] + "/channels/payments.received"
req = urllib.request.Request(url, data=b'{"account":{"id":"py-1"}}', method="POST",
                             headers={"Content-Type": "application/json", "X-From": "urllib"})
with urllib.request.urlopen(req, timeout=30) as r:
    print(r.status, r.headers["Reprise-Record-Id"])
try:
    urllib.request.urlopen(urllib.request.Request(url, data=b'{"account":', method="POST",
                           headers={"Content-Type": "application/json"}), timeout=30)
except urllib.error.HTTPError as e:
    print(e.code)
)";
  auto r = testing::RunCommand({"/usr/bin/python3", "-c", script, endpoint_->listen_address()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  int status = 0, refused = 0;
  std::string id;
  out >> status >> id >> refused;
  EXPECT_EQ(status, 200) << r.out;
  EXPECT_EQ(refused, 400) << r.out;
  std::optional<Message> m = Read(id);
  ASSERT_TRUE(m.has_value()) << r.out;
  EXPECT_EQ(m->key, "py-1");
  EXPECT_EQ(m->headers["x-from"], "urllib");
}

}  // namespace
}  // namespace reprise::http
