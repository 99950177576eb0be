// Which listen addresses count as loopback, and the refusal to listen beyond
// it unprotected (server_security.h). TLS itself: tests/integration/security_test.cc.
#include "server_security.h"

#include <gtest/gtest.h>

namespace reprise {
namespace {

TEST(ServerSecurityTest, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1:7070", "127.1.2.3:0", "localhost:7070", "[::1]:7070",
                        "unix:/tmp/reprise.sock"}) {
    EXPECT_TRUE(IsLoopback(a)) << a;
  }
  for (const char* a : {"0.0.0.0:7070", "[::]:7070", "10.0.0.5:7070", "127.example.com:7070",
                        "myhost:7070"}) {
    EXPECT_FALSE(IsLoopback(a)) << a;
  }
}

TEST(ServerSecurityTest, BeyondLoopbackNeedsTlsAndTokensUnlessInsecure) {
  AgentOptions o{.listen = "0.0.0.0:7070"};
  Status st = CheckListenSecurity(o);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("without TLS and tokens"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  o.token_file = "tokens";
  EXPECT_NE(CheckListenSecurity(o).message().find("without TLS:"), std::string::npos);
  o.tls_cert = "c.pem";
  o.tls_key = "k.pem";
  EXPECT_TRUE(CheckListenSecurity(o).ok());
  AgentOptions insecure{.listen = "0.0.0.0:7070", .insecure = true};
  EXPECT_TRUE(CheckListenSecurity(insecure).ok());
  AgentOptions local{.listen = "127.0.0.1:7070"};
  EXPECT_TRUE(CheckListenSecurity(local).ok());
}

TEST(ServerSecurityTest, IncompleteTlsSetUpsAreRefused) {
  AgentOptions o{.tls_cert = "c.pem"};
  EXPECT_EQ(CheckListenSecurity(o).code(), StatusCode::kInvalidArgument);
  AgentOptions ca_only{.tls_client_ca = "ca.pem"};
  EXPECT_EQ(CheckListenSecurity(ca_only).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace reprise
