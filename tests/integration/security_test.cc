// Tokens, roles, redaction, the rate limit on mutating calls, TLS and mutual
// TLS, over real gRPC on loopback, with token files made by the real
// `reprise token new` and certificates made by the openssl command.
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <map>
#include <sstream>

#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace reprise {
namespace {

using testing::MakeTestPki;
using testing::MakeToken;
using testing::TestToken;
using testing::WriteFile;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    viewer_ = MakeToken("vera", "viewer");
    operator_ = MakeToken("otto", "operator");
    second_operator_ = MakeToken("olga", "operator");
    ASSERT_FALSE(viewer_.token.empty()) << "reprise token new failed";
    ASSERT_TRUE(WriteFile(dir_.File("tokens"), "# test tokens\n" + viewer_.line + "\n\n" +
                                                   operator_.line + "\n" +
                                                   second_operator_.line + "\n"));
  }

  // An agent with the token file and `extra` options, seeded with messages.
  void StartAgent(AgentOptions options = {}) {
    options.service = "ledger";
    options.journal = "sqlite:" + dir_.File("sec.journal");
    if (options.listen == "127.0.0.1:7070") options.listen = "127.0.0.1:0";
    options.token_file = dir_.File("tokens");
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    agent_->Handle("payments.received", [](const Message&, Context&) { return Status::Ok(); });
    agent_->Knob("cache.clear", "Clears the cache", {}, [](const Args&) -> StatusOr<std::string> {
      return std::string("cleared");
    });
    ASSERT_TRUE(agent_->Flow("pricing", {"v1", "v2"}, "v1").ok());
    for (int i = 0; i < 3; ++i) {
      (void)agent_->Deliver("payments.received", "account:" + std::to_string(i),
                      "{\"card\":\"4111-1111-1111-1111\"}");
    }
    ASSERT_TRUE(agent_->Flush().ok());
    channel_ = grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials());
    stub_ = v1::Agent::NewStub(channel_);
  }

  static std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  // Calls `method` of reprise.v1.Agent with an empty request.
  grpc::Status CallEmpty(const std::string& method, const std::string& token) {
    grpc::GenericStub generic(channel_);
    auto ctx = As(token);
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1), response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(ctx.get(), "/reprise.v1.Agent/" + method, grpc::StubOptions(), &request,
                      &response, [&](grpc::Status st) { done.set_value(st); });
    return done.get_future().get();
  }

  std::vector<v1::AuditRecord> Audit() {
    auto ctx = As(operator_.token);
    v1::ListAuditRequest req;
    req.set_page_size(1000);
    v1::ListAuditResponse resp;
    grpc::Status st = stub_->ListAudit(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.records().begin(), resp.records().end()};
  }

  testing::TempDir dir_;
  TestToken viewer_, operator_, second_operator_;
  std::unique_ptr<Agent> agent_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

// Every method of the API, present and future: without a token, or with one
// the agent does not know, UNAUTHENTICATED; a viewer is refused exactly the
// methods agent.proto declares MUTATE.
TEST_F(SecurityTest, EveryMethodChecksTheTokenAndTheRole) {
  StartAgent();
  const auto* service = v1::DescribeRequest::descriptor()->file()->FindServiceByName("Agent");
  ASSERT_NE(service, nullptr);
  ASSERT_GE(service->method_count(), 16);
  int mutating = 0;
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    const bool mutates = m->options().GetExtension(v1::access) == v1::MUTATE;
    mutating += mutates;
    EXPECT_EQ(CallEmpty(m->name(), "").error_code(), grpc::StatusCode::UNAUTHENTICATED) << m->name();
    EXPECT_EQ(CallEmpty(m->name(), "rpt_guessed").error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << m->name();
    // The hash itself is not a token.
    std::string hash = operator_.line.substr(operator_.line.find("sha256:") + 7);
    EXPECT_EQ(CallEmpty(m->name(), hash).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << m->name();
    grpc::Status as_viewer = CallEmpty(m->name(), viewer_.token);
    if (mutates) {
      EXPECT_EQ(as_viewer.error_code(), grpc::StatusCode::PERMISSION_DENIED) << m->name();
      EXPECT_NE(as_viewer.error_message().find("operator token"), std::string::npos)
          << as_viewer.error_message();
    } else {
      EXPECT_NE(as_viewer.error_code(), grpc::StatusCode::PERMISSION_DENIED) << m->name();
      EXPECT_NE(as_viewer.error_code(), grpc::StatusCode::UNAUTHENTICATED) << m->name();
    }
    grpc::Status as_operator = CallEmpty(m->name(), operator_.token);
    EXPECT_NE(as_operator.error_code(), grpc::StatusCode::PERMISSION_DENIED) << m->name();
    EXPECT_NE(as_operator.error_code(), grpc::StatusCode::UNAUTHENTICATED) << m->name();
  }
  EXPECT_GE(mutating, 6);

  // Every one of those refusals is in the audit trail: three UNAUTHENTICATED
  // per method (no token, a guessed one, the hash), and the viewer's
  // PERMISSION_DENIED for each MUTATE method, under the name vera.
  std::map<std::string, int> unauthenticated, denied_to_vera;  // method -> records
  for (const auto& r : Audit()) {
    if (r.result().rfind("UNAUTHENTICATED: ", 0) == 0) ++unauthenticated[r.action()];
    if (r.who() == "vera" && r.result().rfind("PERMISSION_DENIED: ", 0) == 0) {
      ++denied_to_vera[r.action()];
    }
  }
  for (int i = 0; i < service->method_count(); ++i) {
    const auto* m = service->method(i);
    EXPECT_EQ(unauthenticated[m->name()], 3) << m->name();
    const bool mutates = m->options().GetExtension(v1::access) == v1::MUTATE;
    EXPECT_EQ(denied_to_vera[m->name()], mutates ? 1 : 0) << m->name();
  }
}

TEST_F(SecurityTest, ViewerCannotReflowSetFlowsOrCallKnobsAndEveryRefusalIsAudited) {
  StartAgent();
  {
    v1::StartReflowRequest req;
    req.set_filter("channel = payments.received");
    v1::StartReflowResponse resp;
    EXPECT_EQ(stub_->StartReflow(As(viewer_.token).get(), req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    v1::SetFlowRequest req;
    req.set_flow("pricing");
    req.set_default_variant("v2");
    v1::SetFlowResponse resp;
    EXPECT_EQ(stub_->SetFlow(As(viewer_.token).get(), req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    v1::InvokeKnobRequest req;
    req.set_name("cache.clear");
    v1::InvokeKnobResponse resp;
    EXPECT_EQ(stub_->InvokeKnob(As(viewer_.token).get(), req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
    // No token at all, on a READ method.
    v1::ListMessagesResponse list;
    EXPECT_EQ(stub_->ListMessages(As("").get(), {}, &list).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(stub_->InvokeKnob(As("rpt_wrong").get(), req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    // The operator may.
    grpc::Status st = stub_->InvokeKnob(As(operator_.token).get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.result(), "cleared");
  }
  // The viewer changed nothing.
  v1::GetFlowRequest get;
  get.set_name("pricing");
  v1::GetFlowResponse flow;
  ASSERT_TRUE(stub_->GetFlow(As(viewer_.token).get(), get, &flow).ok());
  EXPECT_EQ(flow.flow().default_variant(), "v1");

  std::map<std::string, std::string> by_action_who;  // "action who" -> result
  for (const auto& r : Audit()) by_action_who[r.action() + " " + r.who()] = r.result();
  EXPECT_EQ(by_action_who["StartReflow vera"].rfind("PERMISSION_DENIED: ", 0), 0u)
      << by_action_who["StartReflow vera"];
  EXPECT_EQ(by_action_who["SetFlow vera"].rfind("PERMISSION_DENIED", 0), 0u);
  EXPECT_EQ(by_action_who["InvokeKnob vera"].rfind("PERMISSION_DENIED", 0), 0u);
  EXPECT_EQ(by_action_who["InvokeKnob otto"], "OK") << "the token's name is the identity";
  bool anonymous_list = false, unknown_knob = false;
  for (const auto& [k, result] : by_action_who) {
    if (k.rfind("ListMessages anonymous@", 0) == 0) {
      anonymous_list = result.rfind("UNAUTHENTICATED: ", 0) == 0;
    }
    if (k.rfind("InvokeKnob unknown-token@", 0) == 0) {
      unknown_knob = result.rfind("UNAUTHENTICATED", 0) == 0;
    }
  }
  EXPECT_TRUE(anonymous_list) << "a refused read is audited too";
  EXPECT_TRUE(unknown_knob);
  // Successful reads are not audited.
  EXPECT_EQ(by_action_who.count("GetFlow vera"), 0u);
  // The token itself never reaches the audit trail.
  for (const auto& r : Audit()) {
    EXPECT_EQ(r.request().find(viewer_.token), std::string::npos);
    EXPECT_EQ(r.who().find("rpt_"), std::string::npos);
  }
}

TEST_F(SecurityTest, OperatorActionsCarryTheTokenName) {
  StartAgent();
  v1::StartReflowRequest req;
  req.set_filter("channel = payments.received");
  req.set_reason("test");
  v1::StartReflowResponse resp;
  grpc::Status st = stub_->StartReflow(As(operator_.token).get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.job().created_by(), "otto");
  v1::SetFlowRequest set;
  set.set_flow("pricing");
  set.set_default_variant("v2");
  v1::SetFlowResponse flow;
  ASSERT_TRUE(stub_->SetFlow(As(second_operator_.token).get(), set, &flow).ok());
  EXPECT_EQ(flow.flow().updated_by(), "olga");
}

TEST_F(SecurityTest, ViewersSeeMetadataOnlyWhenTheAgentRedacts) {
  StartAgent({.redact_payloads_for_viewers = true});
  v1::ListMessagesRequest req;
  req.set_with_payload(true);
  v1::ListMessagesResponse as_viewer, as_operator;
  ASSERT_TRUE(stub_->ListMessages(As(viewer_.token).get(), req, &as_viewer).ok());
  ASSERT_TRUE(stub_->ListMessages(As(operator_.token).get(), req, &as_operator).ok());
  ASSERT_EQ(as_viewer.messages_size(), 3);
  ASSERT_EQ(as_operator.messages_size(), 3);
  for (const auto& m : as_viewer.messages()) {
    EXPECT_EQ(m.payload(), "");
    EXPECT_TRUE(m.payload_redacted());
    EXPECT_GT(m.payload_size(), 0u) << "metadata stays";
    EXPECT_EQ(m.channel(), "payments.received");
  }
  for (const auto& m : as_operator.messages()) {
    EXPECT_NE(m.payload().find("4111"), std::string::npos);
    EXPECT_FALSE(m.payload_redacted());
  }
  v1::GetMessageRequest get;
  get.set_id(as_operator.messages(0).id());
  v1::GetMessageResponse one;
  ASSERT_TRUE(stub_->GetMessage(As(viewer_.token).get(), get, &one).ok());
  EXPECT_EQ(one.message().payload(), "");
  EXPECT_TRUE(one.message().payload_redacted());
  ASSERT_TRUE(stub_->GetMessage(As(operator_.token).get(), get, &one).ok());
  EXPECT_NE(one.message().payload().find("4111"), std::string::npos);
}

// Which messages a filter matches, or how they group, would give payload
// values away one question at a time.
TEST_F(SecurityTest, RedactedViewersCannotFilterOrGroupByPayloadsNorReadRequestsInTheAudit) {
  StartAgent({.redact_payloads_for_viewers = true});
  auto list = [&](const std::string& token, const std::string& filter) {
    v1::ListMessagesRequest req;
    req.set_filter(filter);
    v1::ListMessagesResponse resp;
    return stub_->ListMessages(As(token).get(), req, &resp);
  };
  auto count = [&](const std::string& token, const std::string& filter, const std::string& by) {
    v1::CountMessagesRequest req;
    req.set_filter(filter);
    req.set_group_by(by);
    v1::CountMessagesResponse resp;
    return stub_->CountMessages(As(token).get(), req, &resp);
  };
  for (const std::string f : {"payload.card ~ \"4111*\"", "key = a or not payload.card = x"}) {
    grpc::Status st = list(viewer_.token, f);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << f;
    EXPECT_NE(st.error_message().find("metadata only"), std::string::npos) << st.error_message();
    EXPECT_EQ(count(viewer_.token, f, "").error_code(), grpc::StatusCode::PERMISSION_DENIED) << f;
    EXPECT_TRUE(list(operator_.token, f).ok()) << f;
  }
  for (const std::string by : {"payload.card", "Payload.items[0].sku"}) {
    EXPECT_EQ(count(viewer_.token, "", by).error_code(), grpc::StatusCode::PERMISSION_DENIED) << by;
    EXPECT_TRUE(count(operator_.token, "", by).ok()) << by;
  }
  EXPECT_TRUE(list(viewer_.token, "channel = payments.received and key ~ account").ok());
  EXPECT_TRUE(count(viewer_.token, "outcome = ok", "key").ok());

  // An operator's filter quotes a payload value; viewers see the audit
  // without the requests.
  v1::StartReflowRequest reflow;
  reflow.set_filter("payload.card = \"4111-1111-1111-1111\"");
  reflow.set_dry_run(true);
  v1::StartReflowResponse started;
  ASSERT_TRUE(stub_->StartReflow(As(operator_.token).get(), reflow, &started).ok());
  v1::ListAuditResponse seen;
  ASSERT_TRUE(stub_->ListAudit(As(viewer_.token).get(), {}, &seen).ok());
  ASSERT_GT(seen.records_size(), 0);
  for (const auto& r : seen.records()) EXPECT_EQ(r.request(), "") << r.action();
  bool operator_sees = false;
  for (const auto& r : Audit()) operator_sees |= r.request().find("4111") != std::string::npos;
  EXPECT_TRUE(operator_sees);
}

TEST_F(SecurityTest, RefusedRequestsAreAuditedButOnlyTheirFirstKilobyte) {
  StartAgent();
  v1::ListMessagesRequest req;
  req.set_filter("key = \"" + std::string(3000, 'x') + "\"");
  v1::ListMessagesResponse resp;
  EXPECT_EQ(stub_->ListMessages(As("").get(), req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  bool found = false;
  for (const auto& r : Audit()) {
    if (r.action() != "ListMessages") continue;
    found = true;
    EXPECT_LE(r.request().size(), 1100u);
    EXPECT_NE(r.request().find("xxxx"), std::string::npos) << "keeps what was tried";
    EXPECT_NE(r.request().find("(cut)"), std::string::npos);
  }
  EXPECT_TRUE(found);
}

TEST_F(SecurityTest, WithoutRedactionViewersSeePayloads) {
  StartAgent();
  v1::ListMessagesRequest req;
  req.set_with_payload(true);
  v1::ListMessagesResponse resp;
  ASSERT_TRUE(stub_->ListMessages(As(viewer_.token).get(), req, &resp).ok());
  ASSERT_EQ(resp.messages_size(), 3);
  EXPECT_NE(resp.messages(0).payload().find("4111"), std::string::npos);
}

TEST_F(SecurityTest, MutatingCallsAreRateLimitedPerCaller) {
  StartAgent({.mutating_calls_per_minute = 3});
  auto set = [&](const std::string& token, const std::string& variant) {
    v1::SetFlowRequest req;
    req.set_flow("pricing");
    req.set_default_variant(variant);
    v1::SetFlowResponse resp;
    return stub_->SetFlow(As(token).get(), req, &resp);
  };
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(set(operator_.token, i % 2 ? "v1" : "v2").ok()) << i;
  grpc::Status fourth = set(operator_.token, "v1");
  EXPECT_EQ(fourth.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(fourth.error_message().find("retry in"), std::string::npos) << fourth.error_message();
  EXPECT_NE(fourth.error_message().find("mutating_calls_per_minute"), std::string::npos);
  // Another caller has its own allowance; reads are not limited.
  EXPECT_TRUE(set(second_operator_.token, "v1").ok());
  for (int i = 0; i < 10; ++i) {
    v1::ListFlowsResponse flows;
    ASSERT_TRUE(stub_->ListFlows(As(operator_.token).get(), {}, &flows).ok());
  }
  int limited = 0;
  for (const auto& r : Audit()) {
    limited += r.action() == "SetFlow" && r.who() == "otto" &&
               r.result().rfind("RESOURCE_EXHAUSTED", 0) == 0;
  }
  EXPECT_EQ(limited, 1);
}

// Without tokens a caller is its host: a new connection for every call
// does not get a new allowance.
TEST(SecurityRateTest, WithoutTokensTheLimitHoldsAcrossConnections) {
  testing::TempDir dir;
  auto agent = Agent::Start({.service = "ledger",
                             .journal = "sqlite:" + dir.File("rate.journal"),
                             .listen = "127.0.0.1:0",
                             .mutating_calls_per_minute = 2});
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  ASSERT_TRUE((*agent)->Flow("pricing", {"v1", "v2"}, "v1").ok());
  std::vector<grpc::StatusCode> codes;
  for (int i = 0; i < 3; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    auto stub = v1::Agent::NewStub(grpc::CreateCustomChannel(
        (*agent)->listen_address(), grpc::InsecureChannelCredentials(), args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::SetFlowRequest req;
    req.set_flow("pricing");
    req.set_default_variant(i % 2 ? "v1" : "v2");
    v1::SetFlowResponse resp;
    codes.push_back(stub->SetFlow(&ctx, req, &resp).error_code());
  }
  EXPECT_EQ(codes, (std::vector<grpc::StatusCode>{grpc::StatusCode::OK, grpc::StatusCode::OK,
                                                  grpc::StatusCode::RESOURCE_EXHAUSTED}));
}

TEST_F(SecurityTest, BadTokenFilesAreRefusedAtStart) {
  AgentOptions options{.service = "ledger", .journal = "sqlite:" + dir_.File("bad.journal"),
                       .listen = "127.0.0.1:0", .token_file = dir_.File("missing")};
  auto a = Agent::Start(options);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(a.status().message().find(dir_.File("missing")), std::string::npos);
  ASSERT_TRUE(WriteFile(dir_.File("bad"), viewer_.line + "\nbob admin sha256:00\n"));
  options.token_file = dir_.File("bad");
  a = Agent::Start(options);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find(":2: unknown role \"admin\""), std::string::npos)
      << a.status().message();
}

// TLS ------------------------------------------------------------------------

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = MakeTestPki(dir_);
    ASSERT_TRUE(pki_.ok()) << pki_.error;
  }
  void StartAgent(bool mutual) {
    AgentOptions options{.service = "ledger",
                         .journal = "sqlite:" + dir_.File("tls.journal"),
                         .listen = "127.0.0.1:0",
                         .tls_cert = pki_.server_cert,
                         .tls_key = pki_.server_key};
    if (mutual) options.tls_client_ca = pki_.ca_cert;
    auto a = Agent::Start(options);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
  }
  // Describe over a channel with these credentials.
  grpc::Status Describe(std::shared_ptr<grpc::ChannelCredentials> credentials,
                        v1::DescribeResponse* resp = nullptr) {
    v1::DescribeResponse ignored;
    auto stub = v1::Agent::NewStub(grpc::CreateChannel(agent_->listen_address(), credentials));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return stub->Describe(&ctx, {}, resp ? resp : &ignored);
  }
  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& cert = "",
                                                const std::string& key = "") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadAll(pki_.ca_cert);
    if (!cert.empty()) {
      ssl.pem_cert_chain = ReadAll(cert);
      ssl.pem_private_key = ReadAll(key);
    }
    return grpc::SslCredentials(ssl);
  }

  testing::TempDir dir_;
  testing::TestPki pki_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(TlsTest, TlsServesTrustingClientsAndNotPlaintext) {
  StartAgent(false);
  v1::DescribeResponse resp;
  grpc::Status st = Describe(Tls(), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.service(), "ledger");
  EXPECT_FALSE(Describe(grpc::InsecureChannelCredentials()).ok());
  // A client that trusts another CA does not accept the agent's certificate.
  grpc::SslCredentialsOptions other;
  other.pem_root_certs = ReadAll(dir_.File("other-ca.crt"));
  EXPECT_EQ(Describe(grpc::SslCredentials(other)).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MutualTlsRefusesClientsWithoutACertificateFromTheCa) {
  StartAgent(true);
  EXPECT_EQ(Describe(Tls()).error_code(), grpc::StatusCode::UNAVAILABLE) << "no certificate";
  EXPECT_EQ(Describe(Tls(pki_.stranger_cert, pki_.stranger_key)).error_code(),
            grpc::StatusCode::UNAVAILABLE)
      << "a certificate from another CA";
  EXPECT_FALSE(Describe(grpc::InsecureChannelCredentials()).ok());
  grpc::Status st = Describe(Tls(pki_.client_cert, pki_.client_key));
  ASSERT_TRUE(st.ok()) << st.error_message();

  // Without tokens, the certificate names the caller in the audit trail.
  auto stub = v1::Agent::NewStub(
      grpc::CreateChannel(agent_->listen_address(), Tls(pki_.client_cert, pki_.client_key)));
  grpc::ClientContext ctx;
  v1::InvokeKnobRequest req;
  req.set_name("missing");
  v1::InvokeKnobResponse knob;
  EXPECT_EQ(stub->InvokeKnob(&ctx, req, &knob).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext audit_ctx;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(stub->ListAudit(&audit_ctx, {}, &audit).ok());
  ASSERT_EQ(audit.records_size(), 1);
  EXPECT_EQ(audit.records(0).who(), "cert:alice");
}

TEST_F(TlsTest, MistakesInTheTlsSetUpAreNamed) {
  AgentOptions options{.service = "ledger", .journal = "sqlite:" + dir_.File("tls.journal"),
                       .listen = "127.0.0.1:0", .tls_cert = pki_.server_cert};
  auto a = Agent::Start(options);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("tls_key"), std::string::npos) << a.status().message();
  options.tls_key = pki_.client_key;  // not the server certificate's key
  a = Agent::Start(options);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("is not the key of the certificate"), std::string::npos)
      << a.status().message();
  options.tls_key = dir_.File("nowhere.key");
  a = Agent::Start(options);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("cannot read tls_key"), std::string::npos);
}

// Safe defaults ----------------------------------------------------------------

TEST_F(TlsTest, BeyondLoopbackNeedsTlsAndTokensOrInsecure) {
  AgentOptions options{.service = "ledger", .journal = "sqlite:" + dir_.File("any.journal"),
                       .listen = "0.0.0.0:0"};
  auto a = Agent::Start(options);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.status().message().find('\n'), std::string::npos) << "one line";
  EXPECT_NE(a.status().message().find("without TLS and tokens"), std::string::npos)
      << a.status().message();
  EXPECT_NE(a.status().message().find("--insecure"), std::string::npos);

  options.tls_cert = pki_.server_cert;
  options.tls_key = pki_.server_key;
  a = Agent::Start(options);
  ASSERT_FALSE(a.ok()) << "TLS without tokens is not enough";
  EXPECT_NE(a.status().message().find("without tokens"), std::string::npos) << a.status().message();

  TestToken op = MakeToken("otto", "operator");
  ASSERT_TRUE(WriteFile(dir_.File("tokens"), op.line + "\n"));
  options.token_file = dir_.File("tokens");
  a = Agent::Start(options);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  a->reset();

  AgentOptions insecure{.service = "ledger", .journal = "sqlite:" + dir_.File("any.journal"),
                        .listen = "0.0.0.0:0", .insecure = true};
  a = Agent::Start(insecure);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
}

// The same rule for the real demo process: it exits with one line on stderr,
// and starts with TLS and tokens, or with --insecure.
TEST_F(TlsTest, TheDemoRefusesAPublicAddressInOneLineUnlessSecuredOrInsecure) {
  std::vector<std::string> demo = {testing::BinaryPath("reprise-demo"), "--listen", "0.0.0.0:0",
                                   "--journal", "sqlite:" + dir_.File("demo.journal"),
                                   "--rate", "0"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = demo;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  };
  auto plain = testing::RunCommand(demo, "", {}, std::chrono::seconds(30));
  EXPECT_EQ(plain.exit_code, 1) << plain.out << plain.err;
  EXPECT_EQ(std::count(plain.err.begin(), plain.err.end(), '\n'), 1) << plain.err;
  EXPECT_NE(plain.err.find("without TLS and tokens"), std::string::npos) << plain.err;
  EXPECT_NE(plain.err.find("--insecure"), std::string::npos) << plain.err;
  EXPECT_EQ(plain.out.find("listening"), std::string::npos) << plain.out;

  auto tls_only = testing::RunCommand(
      with({"--tls-cert", pki_.server_cert, "--tls-key", pki_.server_key}), "", {},
      std::chrono::seconds(30));
  EXPECT_EQ(tls_only.exit_code, 1) << tls_only.out << tls_only.err;
  EXPECT_EQ(std::count(tls_only.err.begin(), tls_only.err.end(), '\n'), 1) << tls_only.err;
  EXPECT_NE(tls_only.err.find("without tokens"), std::string::npos) << tls_only.err;

  // TLS and tokens: it serves, and the console gets in with the CA and a token.
  TestToken op = MakeToken("otto", "operator");
  ASSERT_TRUE(WriteFile(dir_.File("tokens"), op.line + "\n"));
  ASSERT_TRUE(WriteFile(dir_.File("otto.token"), op.token + "\n"));
  auto secured = testing::Subprocess::Start(with({"--tls-cert", pki_.server_cert, "--tls-key",
                                                  pki_.server_key, "--token-file",
                                                  dir_.File("tokens")}));
  ASSERT_TRUE(secured.has_value());
  auto line = secured->WaitForLine("listening on ", std::chrono::seconds(30));
  ASSERT_TRUE(line.has_value()) << secured->ReadAllStderr(std::chrono::seconds(5));
  std::string address = line->substr(line->find("listening on ") + 13);
  address = address.substr(0, address.find(' '));
  ASSERT_EQ(address.rfind("0.0.0.0:", 0), 0u) << *line;
  std::string loopback = "127.0.0.1:" + address.substr(8);
  auto status = testing::RunCommand({testing::BinaryPath("reprise"), "--agent", loopback,
                                     "--tls-ca", pki_.ca_cert, "--token-file",
                                     dir_.File("otto.token"), "-c", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("ledger"), std::string::npos) << status.out;
  secured->Kill(15);

  auto insecure = testing::Subprocess::Start(with({"--insecure"}));
  ASSERT_TRUE(insecure.has_value());
  EXPECT_TRUE(insecure->WaitForLine("listening on 0.0.0.0:", std::chrono::seconds(30)).has_value())
      << insecure->ReadAllStderr(std::chrono::seconds(5));
  insecure->Kill(15);
}

}  // namespace
}  // namespace reprise
