// The demo's ledger, in-process: the rounding of each flow variant, and that
// replaying a payment corrects a balance instead of doubling it.
#include "ledger.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise::demo {
namespace {

TEST(LedgerRoundingTest, V1TruncatesAndV2RoundsHalfUp) {
  int64_t c = 0;
  ASSERT_TRUE(Ledger::ParseAmountCentsV1("12.345", &c));
  EXPECT_EQ(c, 1234);
  ASSERT_TRUE(Ledger::ParseAmountCentsV2("12.345", &c));
  EXPECT_EQ(c, 1235);
  ASSERT_TRUE(Ledger::ParseAmountCentsV2("12.344", &c));
  EXPECT_EQ(c, 1234);
  ASSERT_TRUE(Ledger::ParseAmountCentsV2("0.999", &c));
  EXPECT_EQ(c, 100);
  EXPECT_FALSE(Ledger::ParseAmountCentsV1("12,50", &c));
  EXPECT_FALSE(Ledger::ParseAmountCentsV2("abc", &c));
  EXPECT_EQ(Ledger::FormatCents(123456), "1234.56");
}

TEST(LedgerTest, MigratingAnAccountToV2CorrectsItsBalanceWithoutDoubleCounting) {
  testing::TempDir dir;
  auto agent = Agent::Start({.service = "ledger", .journal = "sqlite:" + dir.File("l.journal"),
                             .listen = "127.0.0.1:0"});
  ASSERT_TRUE(agent.ok()) << agent.status().ToString();
  Ledger ledger({.downstream_failure_rate = 0, .seed = 1});
  ledger.Register(**agent);
  int n = 0;
  for (const std::string key : {"account:1", "account:2"}) {
    for (const char* amount : {"1.005", "2.105", "3.000"}) {
      std::string payload = "{\"payment_id\":\"p-" + std::to_string(++n) + "\",\"account\":\"" +
                            key + "\",\"amount\":\"" + amount + "\"}";
      ASSERT_TRUE((*agent)->Deliver("payments.received", key, payload).status.ok());
    }
  }
  EXPECT_EQ(ledger.Balance("account:1"), 100 + 210 + 300);  // v1 truncates
  ASSERT_TRUE((*agent)->Flush().ok());

  auto stub = v1::Agent::NewStub(
      grpc::CreateChannel((*agent)->listen_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::MigrateRequest req;
  req.set_flow("ledger.rounding");
  req.set_variant("v2");
  req.add_keys("account:1");
  req.mutable_reflow_since()->set_seconds(0);
  v1::MigrateResponse resp;
  grpc::Status st = stub->Migrate(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (int i = 0; i < 500; ++i) {
    grpc::ClientContext jctx;
    v1::GetJobRequest jreq;
    jreq.set_id(resp.job().id());
    v1::Job job;
    ASSERT_TRUE(stub->GetJob(&jctx, jreq, &job).ok());
    if (job.state() == v1::COMPLETED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(ledger.Balance("account:1"), 101 + 211 + 300) << "v2 rounds half up, once per payment";
  EXPECT_EQ(ledger.Balance("account:2"), 100 + 210 + 300) << "not migrated: untouched";
  ASSERT_TRUE((*agent)->Flush().ok());

  // Re-deriving from first principles agrees with what the migration emitted
  // for the migrated account (corrected), and with v1 for the other one.
  grpc::ClientContext rctx;
  v1::RederiveRequest rreq;
  rreq.set_deriver("balance");
  rreq.add_keys("account:1");
  rreq.add_keys("account:2");
  rreq.set_dry_run(true);
  v1::RederiveResponse rresp;
  ASSERT_TRUE(stub->Rederive(&rctx, rreq, &rresp).ok());
  ASSERT_EQ(rresp.results_size(), 2);
  EXPECT_EQ(rresp.unchanged(), 2u);
  EXPECT_NE(rresp.results(0).after().find("\"balance\":\"6.12\""), std::string::npos)
      << rresp.results(0).after();
  EXPECT_NE(rresp.results(0).after().find("\"rounding\":\"v2\""), std::string::npos);
  EXPECT_NE(rresp.results(1).after().find("\"balance\":\"6.10\""), std::string::npos)
      << rresp.results(1).after();

  // The audit trail holds every mutating call made here, with who and result.
  grpc::ClientContext actx;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(stub->ListAudit(&actx, {}, &audit).ok());
  ASSERT_EQ(audit.records_size(), 2);
  EXPECT_EQ(audit.records(0).action(), "Rederive");
  EXPECT_EQ(audit.records(1).action(), "Migrate");
  for (const auto& r : audit.records()) {
    EXPECT_TRUE(r.ok()) << r.result();
    EXPECT_NE(r.who().find("127.0.0.1"), std::string::npos) << r.who();
    EXPECT_NE(r.request().find("account:1"), std::string::npos) << r.request();
  }
}

}  // namespace
}  // namespace reprise::demo
