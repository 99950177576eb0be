// Token files, hashing and what mutates, for the gatekeeper and the audit
// trail alike (gatekeeper.h, audit_interceptor.h, reprise/v1/access.h); the
// checks themselves over real gRPC: tests/integration/security_test.cc.
#include "gatekeeper.h"

#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/test/server_context_test_spouse.h>
#include <gtest/gtest.h>

#include "audit_interceptor.h"
#include "reprise/v1/agent.pb.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace reprise {
namespace {

TEST(GatekeeperTest, Sha256HexMatchesTheStandardVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(GatekeeperTest, TokenFilesParseAndMistakesNameTheLine) {
  testing::TempDir dir;
  const std::string h1(64, 'a'), h2(64, 'b');
  ASSERT_TRUE(testing::WriteFile(dir.File("ok"), "# comment\n\n  vera viewer sha256:" + h1 +
                                                     "\notto operator sha256:" + h2 + "\n"));
  auto tokens = LoadTokenFile(dir.File("ok"));
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].name, "vera");
  EXPECT_EQ((*tokens)[0].role, Role::kViewer);
  EXPECT_EQ((*tokens)[1].role, Role::kOperator);
  EXPECT_EQ((*tokens)[1].sha256_hex, h2);

  struct Case {
    std::string content, expected;
  } cases[] = {
      {"vera viewer\n", ":1: not three fields"},
      {"vera viewer sha256:" + h1 + " extra\n", ":1: not three fields"},
      {"\nvera root sha256:" + h1 + "\n", ":2: unknown role \"root\""},
      {"vera viewer " + h1 + "\n", ":1: the hash must be sha256:"},
      {"vera viewer sha256:" + std::string(64, 'A') + "\n", ":1: the hash must be"},
      {"ve/ra viewer sha256:" + h1 + "\n", ":1: bad name"},
      {"vera viewer sha256:" + h1 + "\nvera operator sha256:" + h2 + "\n", ":2: the name vera"},
      {"vera viewer sha256:" + h1 + "\notto operator sha256:" + h1 + "\n", ":2: the same token"},
      {"# nobody\n", "lists no tokens"},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(testing::WriteFile(dir.File("bad"), c.content));
    auto r = LoadTokenFile(dir.File("bad"));
    ASSERT_FALSE(r.ok()) << c.content;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.expected), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(LoadTokenFile(dir.File("missing")).status().code(), StatusCode::kFailedPrecondition);
}

TEST(GatekeeperTest, IsMutatingFollowsTheAccessOption) {
  EXPECT_TRUE(IsMutating("/reprise.v1.Agent/StartReflow"));
  EXPECT_TRUE(IsMutating("/reprise.v1.Agent/SetFlow"));
  EXPECT_TRUE(IsMutating("/reprise.v1.Agent/InvokeKnob"));
  EXPECT_FALSE(IsMutating("/reprise.v1.Agent/ListMessages"));
  EXPECT_FALSE(IsMutating("/grpc.health.v1.Health/Check"));
  EXPECT_FALSE(IsMutating("/reprise.v1.Agent/NoSuchMethod"));
}

// What each method may do is declared in agent.proto, not left to the
// default: a new method without the option would be refused to viewers.
TEST(GatekeeperTest, EveryMethodOfTheAgentServiceDeclaresItsAccess) {
  const google::protobuf::ServiceDescriptor& service = AgentServiceDescriptor();
  EXPECT_EQ(service.full_name(), "reprise.v1.Agent");
  ASSERT_GE(service.method_count(), 17);
  for (int i = 0; i < service.method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service.method(i);
    EXPECT_TRUE(method.options().HasExtension(v1::access)) << method.name();
    EXPECT_NE(method.options().GetExtension(v1::access), v1::ACCESS_UNSPECIFIED) << method.name();
  }
  EXPECT_EQ(FindAgentMethod("/reprise.v1.Agent/StartReflow"),
            service.FindMethodByName("StartReflow"));
  EXPECT_EQ(FindAgentMethod("/grpc.health.v1.Health/Check"), nullptr);
  EXPECT_EQ(FindAgentMethod("/reprise.v1.Agent/NoSuchMethod"), nullptr);
}

// agent.proto has no method without the option, so the test declares one:
// the gatekeeper refuses it to a viewer and the audit trail records every
// call of it, as for MUTATE; a READ method is neither.
TEST(GatekeeperTest, AMethodWithoutTheOptionMutatesForTheGatekeeperAndTheAuditTrailAlike) {
  google::protobuf::FileDescriptorProto file;
  file.set_name("probe.proto");
  file.set_package("probe");
  file.add_message_type()->set_name("Empty");
  google::protobuf::ServiceDescriptorProto* service = file.add_service();
  service->set_name("Probe");
  for (const char* name : {"Unmarked", "Reads", "Mutates"}) {
    google::protobuf::MethodDescriptorProto* m = service->add_method();
    m->set_name(name);
    m->set_input_type(".probe.Empty");
    m->set_output_type(".probe.Empty");
  }
  service->mutable_method(1)->mutable_options()->SetExtension(v1::access, v1::READ);
  service->mutable_method(2)->mutable_options()->SetExtension(v1::access, v1::MUTATE);
  google::protobuf::DescriptorPool pool;
  const google::protobuf::FileDescriptor* built = pool.BuildFile(file);
  ASSERT_NE(built, nullptr);
  const auto& unmarked = *built->service(0)->method(0);
  const auto& reads = *built->service(0)->method(1);
  const auto& mutates = *built->service(0)->method(2);
  ASSERT_EQ(reads.options().GetExtension(v1::access), v1::READ);

  const std::string token = "rpt_viewer";
  Gatekeeper gatekeeper(
      {.tokens = {{.name = "vera", .role = Role::kViewer, .sha256_hex = Sha256Hex(token)}}});
  grpc::ServerContext ctx;
  grpc::testing::ServerContextTestSpouse spouse(&ctx);
  spouse.AddClientMetadata("authorization", "Bearer " + token);

  EXPECT_TRUE(Mutates(unmarked));
  EXPECT_TRUE(Mutates(mutates));
  EXPECT_FALSE(Mutates(reads));
  Status refused = gatekeeper.Admit(ctx, unmarked);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "Unmarked changes things and needs an operator token; vera is a viewer");
  EXPECT_EQ(gatekeeper.Admit(ctx, mutates).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(gatekeeper.Admit(ctx, reads).ok());
  EXPECT_TRUE(Audited(unmarked, grpc::StatusCode::OK));
  EXPECT_TRUE(Audited(mutates, grpc::StatusCode::OK));
  EXPECT_FALSE(Audited(reads, grpc::StatusCode::OK));
  EXPECT_TRUE(Audited(reads, grpc::StatusCode::PERMISSION_DENIED));
}

}  // namespace
}  // namespace reprise
