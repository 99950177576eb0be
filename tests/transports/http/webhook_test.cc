// The webhook sender against real cpp-httplib servers on loopback: outcomes
// from status codes, connection errors, timeouts, TLS, and a reflow of
// failed calls reaching the server with Reprise-Origin and Reprise-Job.
#include "reprise/http/webhook.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace reprise::http {
namespace {

using namespace std::chrono_literals;

// A webhook server on a free loopback port that keeps what it was sent.
class Downstream {
 public:
  explicit Downstream(std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : server_(std::move(server)) {
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::function<void(const httplib::Request&, httplib::Response&)> answer;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
        answer = answer_;
      }
      if (answer) answer(req, res);
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(1ms);  // stop() needs it running
  }
  ~Downstream() {
    server_->stop();
    thread_.join();
  }
  void Answer(std::function<void(const httplib::Request&, httplib::Response&)> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = std::move(fn);
  }
  std::vector<httplib::Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string Url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/hooks/balance?v=1";
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<httplib::Request> requests_;  // guarded by mu_
  std::function<void(const httplib::Request&, httplib::Response&)> answer_;  // guarded by mu_
};

Message Outbound(const std::string& id) {
  Message m;
  m.id = id;
  m.direction = Direction::kOut;
  m.channel = "balance.updated";
  m.key = "account:1";
  m.payload = R"({"balance":"10.00"})";
  m.content_type = "application/json";
  m.headers = {{"x-tenant", "t1"}, {"content-length", "999"}};
  return m;
}

TEST(WebhookTest, A2xxAnswerIsOkAndTheCallCarriesPayloadAndHeaders) {
  Downstream down;
  auto send = WebhookSender({.url = down.Url(), .headers = {{"Authorization", "Bearer s3cret"}}});
  ASSERT_TRUE(send.ok()) << send.status().ToString();
  down.Answer([](const httplib::Request&, httplib::Response& res) { res.status = 202; });
  Status st = (*send)(Outbound("01JD0000000000000000000001"));
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto got = down.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/hooks/balance");
  EXPECT_EQ(got[0].get_param_value("v"), "1");
  EXPECT_EQ(got[0].body, R"({"balance":"10.00"})");
  EXPECT_EQ(got[0].get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(got[0].get_header_value("Reprise-Record-Id"), "01JD0000000000000000000001");
  EXPECT_EQ(got[0].get_header_value("X-Tenant"), "t1");
  EXPECT_EQ(got[0].get_header_value("Authorization"), "Bearer s3cret");
  EXPECT_EQ(got[0].get_header_value("Content-Length"), "19") << "a message header does not garble the call";
  EXPECT_FALSE(got[0].has_header("Reprise-Origin")) << "only copies carry an origin";
}

TEST(WebhookTest, ErrorStatusesFailWithTheStatusLineAndABoundedExcerpt) {
  Downstream down;
  auto send = WebhookSender({.url = down.Url(), .max_error_body = 40});
  ASSERT_TRUE(send.ok());
  down.Answer([](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("database connection pool exhausted\n" + std::string(5000, 'z'), "text/plain");
  });
  Status st = (*send)(Outbound("01JD0000000000000000000002"));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("HTTP 500 Internal Server Error: database connection pool exhausted"),
            std::string::npos) << st.message();
  EXPECT_LT(st.message().size(), 200u) << "the body is cut: " << st.message().size();
  EXPECT_NE(st.message().find(down.Url()), std::string::npos) << "says which webhook";

  down.Answer([](const httplib::Request&, httplib::Response& res) {
    res.status = 422;
    res.set_content("amount must be positive", "text/plain");
  });
  st = (*send)(Outbound("01JD0000000000000000000003"));
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("HTTP 422 Unprocessable Entity: amount must be positive"), std::string::npos)
      << st.message();
}

TEST(WebhookTest, ConnectionRefusedAndTimeoutsFailClearlyAndQuickly) {
  auto refused = WebhookSender({.url = "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/x"});
  ASSERT_TRUE(refused.ok());
  Status st = (*refused)(Outbound("01JD0000000000000000000004"));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("could not connect (refused"), std::string::npos) << st.message();

  Downstream slow;
  slow.Answer([](const httplib::Request&, httplib::Response&) { std::this_thread::sleep_for(2s); });
  auto send = WebhookSender({.url = slow.Url(), .timeout = 200ms});
  ASSERT_TRUE(send.ok());
  const auto start = std::chrono::steady_clock::now();
  st = (*send)(Outbound("01JD0000000000000000000005"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("no answer within the timeout"), std::string::npos) << st.message();
}

TEST(WebhookTest, BadUrlsAreRefusedWithAnExample) {
  for (const char* url : {"", "127.0.0.1:9000/x", "ftp://host/x", "http:///x"}) {
    auto s = WebhookSender({.url = url});
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << url;
  }
  EXPECT_NE(WebhookSender({.url = "ftp://h"}).status().message().find("http://"), std::string::npos);
}

TEST(WebhookTest, HttpsVerifiesTheServerAgainstTheGivenCa) {
  testing::TempDir dir;
  testing::TestPki pki = testing::MakeTestPki(dir);
  ASSERT_TRUE(pki.ok()) << pki.error;
  Downstream down(std::make_unique<httplib::SSLServer>(pki.server_cert.c_str(), pki.server_key.c_str()));
  auto trusted = WebhookSender({.url = down.Url("https"), .ca_file = pki.ca_cert});
  ASSERT_TRUE(trusted.ok());
  Status st = (*trusted)(Outbound("01JD0000000000000000000006"));
  EXPECT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(down.requests().size(), 1u);

  auto untrusted = WebhookSender({.url = down.Url("https")});  // the system's CAs
  ASSERT_TRUE(untrusted.ok());
  st = (*untrusted)(Outbound("01JD0000000000000000000007"));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("did not verify"), std::string::npos) << st.message();
  EXPECT_EQ(down.requests().size(), 1u) << "nothing is sent to an unverified server";
}

TEST(WebhookTest, ManyThreadsShareOneSender) {
  Downstream down;
  auto send = WebhookSender({.url = down.Url(), .max_idle_connections = 2});
  ASSERT_TRUE(send.ok());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        ok += (*send)(Outbound("id-" + std::to_string(t) + "-" + std::to_string(i))).ok();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 180);
  EXPECT_EQ(down.requests().size(), 180u);
}

// The agent's outbound records and a reflow of the failed calls, through
// the gRPC API as the console starts one.
TEST(WebhookTest, AReflowOfFailedCallsReachesTheServerWithOriginAndJobHeaders) {
  Downstream down;
  std::atomic<bool> healthy{false};
  down.Answer([&](const httplib::Request&, httplib::Response& res) {
    if (!healthy) {
      res.status = 503;
      res.set_content("overloaded", "text/plain");
    }
  });
  testing::TempDir dir;
  const std::string journal = "sqlite:" + dir.File("hook.journal");
  auto agent = Agent::Start({.service = "hooks", .journal = journal, .listen = "127.0.0.1:0",
                             .durability = Durability::kProcess});
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  auto send = WebhookSender({.url = down.Url()});
  ASSERT_TRUE(send.ok());
  (*agent)->Send("balance.updated", *send);
  (*agent)->Handle("payments.received", [](const Message& in, Context& ctx) {
    ctx.Emit("balance.updated", in.key, R"({"balance":")" + in.payload + R"("})", {}, "application/json");
    return Status::Ok();
  });
  constexpr int kPayments = 5;
  for (int i = 0; i < kPayments; ++i) {
    ASSERT_TRUE((*agent)->Deliver("payments.received", "account:" + std::to_string(i), std::to_string(i)).status.ok());
  }
  ASSERT_TRUE((*agent)->Flush().ok());
  auto reader = Journal::Open(journal);
  ASSERT_TRUE(reader.ok());
  auto failed = (*reader)->List({.filter = "direction = out and outcome = failed", .page_size = 100});
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  ASSERT_EQ(failed->messages.size(), static_cast<size_t>(kPayments));
  EXPECT_NE(failed->messages[0].error.find("HTTP 503 Service Unavailable: overloaded"), std::string::npos)
      << failed->messages[0].error;
  std::set<std::string> failed_ids;
  for (const Message& m : failed->messages) failed_ids.insert(m.id);
  auto first_calls = down.requests();
  ASSERT_EQ(first_calls.size(), static_cast<size_t>(kPayments));
  for (const auto& r : first_calls) {
    EXPECT_EQ(failed_ids.count(r.get_header_value("Reprise-Record-Id")), 1u) << "the header names the record";
  }

  healthy = true;
  auto stub = v1::Agent::NewStub(grpc::CreateChannel((*agent)->listen_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::StartReflowRequest req;
  req.set_filter("direction = out and outcome = failed");
  req.set_target(v1::DOWNSTREAM);
  v1::StartReflowResponse resp;
  grpc::Status started = stub->StartReflow(&ctx, req, &resp);
  ASSERT_TRUE(started.ok()) << started.error_message();
  const std::string job = resp.job().id();
  v1::Job state;
  for (int i = 0; i < 500; ++i) {
    grpc::ClientContext c;
    v1::GetJobRequest g;
    g.set_id(job);
    ASSERT_TRUE(stub->GetJob(&c, g, &state).ok());
    if (state.state() != v1::RUNNING) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(state.state(), v1::COMPLETED) << state.reason();
  EXPECT_EQ(state.failed(), 0u);

  auto calls = down.requests();
  ASSERT_EQ(calls.size(), static_cast<size_t>(2 * kPayments));
  std::set<std::string> origins;
  for (size_t i = kPayments; i < calls.size(); ++i) {
    origins.insert(calls[i].get_header_value("Reprise-Origin"));
    EXPECT_EQ(calls[i].get_header_value("Reprise-Job"), job);
    auto copy = (*reader)->Get(calls[i].get_header_value("Reprise-Record-Id"));
    ASSERT_TRUE(copy.ok()) << "the copy's record id names its record";
    EXPECT_EQ(copy->message.origin_id, calls[i].get_header_value("Reprise-Origin"));
    EXPECT_EQ(copy->message.outcome, Outcome::kOk);
  }
  EXPECT_EQ(origins, failed_ids) << "each failed call was sent again, once";
}

}  // namespace
}  // namespace reprise::http
