// Re-derive over real gRPC with the demo ledger's deriver: unchanged when the
// code path has not changed, changed (with the right diff) after it has;
// dry run records and sends nothing; many keys run as a job.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ledger.h"
#include "reprise/agent/agent.h"
#include "reprise/base/ulid.h"
#include "reprise/store/job.h"
#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

class RederiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Agent::Start({.service = "ledger",
                           .journal = "sqlite:" + dir_.File("rederive.journal"),
                           .listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    ledger_.Register(*agent_);
    int n = 0;
    for (const std::string key : {"account:1", "account:2"}) {
      for (const char* amount : {"1.005", "2.105", "bad", "3.000"}) {
        std::string payload = "{\"payment_id\":\"p-" + std::to_string(++n) + "\",\"account\":\"" +
                              key + "\",\"amount\":\"" + amount + "\"}";
        agent_->Deliver("payments.received", key, payload);
      }
    }
    ASSERT_TRUE(agent_->Flush().ok());
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }

  v1::RederiveResponse Rederive(std::vector<std::string> keys, bool dry_run,
                                grpc::Status* status = nullptr) {
    grpc::ClientContext ctx;
    v1::RederiveRequest req;
    req.set_deriver("balance");
    for (auto& k : keys) req.add_keys(k);
    req.set_dry_run(dry_run);
    v1::RederiveResponse resp;
    grpc::Status st = stub_->Rederive(&ctx, req, &resp);
    if (status) *status = st;
    else EXPECT_TRUE(st.ok()) << st.error_message();
    return resp;
  }

  // Moves `key` to `variant` of ledger.rounding (no reflow): its derivation
  // follows the new code path from now on.
  void AssignVariant(const std::string& key, const std::string& variant) {
    grpc::ClientContext ctx;
    v1::SetFlowRequest set;
    set.set_flow("ledger.rounding");
    (*set.mutable_assign())[key] = variant;
    v1::SetFlowResponse resp;
    grpc::Status st = stub_->SetFlow(&ctx, set, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  uint64_t Count(const std::string& filter) {
    grpc::ClientContext ctx;
    v1::CountMessagesRequest req;
    req.set_filter(filter);
    v1::CountMessagesResponse resp;
    EXPECT_TRUE(stub_->CountMessages(&ctx, req, &resp).ok());
    return resp.total();
  }

  // Polls GetJob until the job has ended (bounded).
  v1::Job AwaitJob(const std::string& id) {
    v1::Job job;
    for (int i = 0; i < 400; ++i) {
      grpc::ClientContext ctx;
      v1::GetJobRequest req;
      req.set_id(id);
      grpc::Status st = stub_->GetJob(&ctx, req, &job);
      EXPECT_TRUE(st.ok()) << st.error_message();
      if (job.state() == v1::COMPLETED || job.state() == v1::STOPPED || job.state() == v1::CANCELLED) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return job;
  }

  v1::Job StartJob(v1::RederiveRequest req) {
    grpc::ClientContext ctx;
    v1::RederiveResponse resp;
    grpc::Status st = stub_->Rederive(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_TRUE(resp.has_job()) << "expected a job";
    EXPECT_EQ(resp.results_size(), 0);
    return resp.job();
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  demo::Ledger ledger_{{.downstream_failure_rate = 0, .seed = 1}};
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(RederiveTest, UnchangedWhenInputsAndCodePathAreTheSame) {
  v1::RederiveResponse resp = Rederive({"account:1", "account:2"}, false);
  ASSERT_EQ(resp.results_size(), 2);
  EXPECT_EQ(resp.unchanged(), 2u);
  EXPECT_EQ(resp.results(0).kind(), v1::RederiveResult::UNCHANGED);
  EXPECT_TRUE(resp.results(0).diff().empty());
  EXPECT_EQ(Count("channel = \"balance.updated\""), 6u) << "nothing recorded";
}

TEST_F(RederiveTest, ChangedWithTheRightDiffAfterTheCodePathChanges) {
  // Switch account:1 to the fixed rounding (no reflow): its derivation changes.
  AssignVariant("account:1", "v2");

  uint64_t before = Count("channel = \"balance.updated\"");
  v1::RederiveResponse dry = Rederive({"account:1", "account:2"}, true);
  ASSERT_EQ(dry.results_size(), 2);
  EXPECT_EQ(dry.results(0).kind(), v1::RederiveResult::CHANGED);
  EXPECT_EQ(std::vector<std::string>(dry.results(0).diff().begin(), dry.results(0).diff().end()),
            (std::vector<std::string>{"balance: \"6.10\" -> \"6.12\"", "rounding: \"v1\" -> \"v2\""}));
  EXPECT_EQ(dry.results(1).kind(), v1::RederiveResult::UNCHANGED) << "account:2 is still on v1";
  EXPECT_TRUE(dry.results(0).output_id().empty());
  EXPECT_EQ(Count("channel = \"balance.updated\""), before) << "a dry run records nothing";

  v1::RederiveResponse real = Rederive({"account:1"}, false);
  ASSERT_EQ(real.changed(), 1u);
  const std::string id = real.results(0).output_id();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Count("channel = \"balance.updated\""), before + 1);
  grpc::ClientContext gctx;
  v1::GetMessageRequest get;
  get.set_id(id);
  v1::GetMessageResponse out;
  ASSERT_TRUE(stub_->GetMessage(&gctx, get, &out).ok());
  EXPECT_EQ(out.message().payload(), real.results(0).after());
  EXPECT_EQ(out.message().headers().at("reprise-rederive"), "balance");
  EXPECT_EQ(out.message().outcome(), v1::OK) << "sent through the sender";
  EXPECT_EQ(out.message().flow_variant(), "v2");

  // Now that the new output is recorded, the key is unchanged.
  EXPECT_EQ(Rederive({"account:1"}, true).unchanged(), 1u);
}

TEST_F(RederiveTest, BackgroundJobComparesRecordsAndCountsChangedKeys) {
  AssignVariant("account:1", "v2");
  const uint64_t before = Count("channel = \"balance.updated\"");

  v1::RederiveRequest req;
  req.set_deriver("balance");
  req.set_filter("channel = \"payments.received\"");
  req.set_background(true);
  req.set_dry_run(true);
  req.set_reason("check v2");
  v1::Job dry = StartJob(req);
  EXPECT_EQ(dry.kind(), "rederive");
  EXPECT_EQ(dry.deriver(), "balance");
  EXPECT_TRUE(dry.dry_run());
  EXPECT_EQ(dry.total(), 2u) << "one item per key";
  dry = AwaitJob(dry.id());
  ASSERT_EQ(dry.state(), v1::COMPLETED) << dry.reason();
  EXPECT_EQ(dry.done(), 2u);
  EXPECT_EQ(dry.changed(), 1u);
  EXPECT_EQ(std::vector<std::string>(dry.changed_keys().begin(), dry.changed_keys().end()),
            std::vector<std::string>{"account:1"});
  EXPECT_EQ(Count("channel = \"balance.updated\""), before) << "a dry run records nothing";

  req.set_dry_run(false);
  v1::Job real = AwaitJob(StartJob(req).id());
  ASSERT_EQ(real.state(), v1::COMPLETED) << real.reason();
  EXPECT_EQ(real.changed(), 1u);
  EXPECT_EQ(Count("channel = \"balance.updated\""), before + 1);
  EXPECT_EQ(Count("channel = \"balance.updated\" and job = \"" + real.id() + "\" and outcome = ok"), 1u)
      << "the corrected balance is recorded with the job's id and sent";

  // Run again: the new output is the last one, so nothing changes.
  v1::Job again = AwaitJob(StartJob(req).id());
  ASSERT_EQ(again.state(), v1::COMPLETED);
  EXPECT_EQ(again.changed(), 0u);
  EXPECT_EQ(Count("channel = \"balance.updated\""), before + 1);
}

// An instance that dies with a key in flight may already have recorded the
// key's corrected output; the retry then finds that output equal to what it
// derives. It must still count the key as changed, and record nothing twice.
TEST_F(RederiveTest, ARetriedKeyWhoseOutputThisJobRecordedCountsAsChanged) {
  AssignVariant("account:1", "v2");
  v1::RederiveResponse dry = Rederive({"account:1"}, true);
  ASSERT_EQ(dry.changed(), 1u);

  // What the dead instance wrote: the corrected output, carrying the id the
  // job is about to get (SQLite numbers jobs 1, 2, ...; none exists yet).
  {
    auto journal = Journal::Open("sqlite:" + dir_.File("rederive.journal"));
    ASSERT_TRUE(journal.ok()) << journal.status().ToString();
    ASSERT_TRUE((*journal)->jobs().ListJobs(10)->empty());
    UlidGenerator ids;
    Message out;
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    out.id = ids.Next(now_ms);
    out.direction = Direction::kOut;
    out.channel = "balance.updated";
    out.key = "account:1";
    out.payload = dry.results(0).after();
    out.recorded_at_us = now_ms * 1000;
    out.outcome = Outcome::kOk;
    out.job_id = "1";
    WriteBatch batch;
    batch.messages.push_back(out);
    ASSERT_TRUE((*journal)->Write(batch, true).ok());
  }
  const uint64_t before = Count("channel = \"balance.updated\"");

  v1::RederiveRequest req;
  req.set_deriver("balance");
  req.add_keys("account:1");
  req.add_keys("account:2");
  req.set_background(true);
  v1::Job job = StartJob(req);
  ASSERT_EQ(job.id(), "1");
  job = AwaitJob(job.id());
  ASSERT_EQ(job.state(), v1::COMPLETED) << job.reason();
  EXPECT_EQ(job.changed(), 1u) << "the output this job recorded before the crash is its change";
  EXPECT_EQ(std::vector<std::string>(job.changed_keys().begin(), job.changed_keys().end()),
            std::vector<std::string>{"account:1"});
  EXPECT_EQ(Count("channel = \"balance.updated\""), before) << "nothing recorded twice";

  // Another job finds it plainly unchanged: the output is not its own.
  v1::Job again = AwaitJob(StartJob(req).id());
  ASSERT_EQ(again.state(), v1::COMPLETED) << again.reason();
  EXPECT_EQ(again.changed(), 0u);
}

TEST_F(RederiveTest, MoreThanAHundredKeysRunAsAJob) {
  std::vector<std::string> keys;
  for (int i = 0; i < 101; ++i) {
    keys.push_back("account:x" + std::to_string(i));
    agent_->Deliver("payments.received", keys.back(),
                    "{\"payment_id\":\"x-" + std::to_string(i) + "\",\"account\":\"" + keys.back() +
                        "\",\"amount\":\"1.00\"}");
  }
  ASSERT_TRUE(agent_->Flush().ok());
  v1::RederiveRequest req;
  req.set_deriver("balance");
  for (auto& k : keys) req.add_keys(k);
  req.set_dry_run(true);
  req.set_concurrency(4);
  v1::Job job = AwaitJob(StartJob(req).id());
  ASSERT_EQ(job.state(), v1::COMPLETED) << job.reason();
  EXPECT_EQ(job.total(), 101u);
  EXPECT_EQ(job.done(), 101u);
  EXPECT_EQ(job.changed(), 0u) << "the handler's balances agree with the deriver";
  EXPECT_EQ(job.failed(), 0u);

  // An unknown deriver is refused before a job starts.
  grpc::ClientContext ctx;
  req.set_deriver("balanse");
  v1::RederiveResponse resp;
  EXPECT_EQ(stub_->Rederive(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RederiveTest, FailuresAndBadRequests) {
  std::atomic<int> calls{0};
  agent_->Derive("broken", "balance.updated", [&](std::string_view, Inputs&, Context&) -> StatusOr<std::string> {
    ++calls;
    throw std::runtime_error("division by zero");
  });
  grpc::ClientContext ctx;
  v1::RederiveRequest req;
  req.set_deriver("broken");
  req.set_filter("channel = \"payments.received\"");
  v1::RederiveResponse resp;
  ASSERT_TRUE(stub_->Rederive(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.failed(), 2u);
  EXPECT_NE(resp.results(0).error().find("division by zero"), std::string::npos);

  // An output larger than the journal takes fails the key; nothing is recorded.
  const uint64_t outputs = Count("channel = \"balance.updated\"");
  agent_->Derive("huge", "balance.updated", [](std::string_view, Inputs&, Context&) -> StatusOr<std::string> {
    return std::string((4u << 20) + 1, 'x');
  });
  grpc::ClientContext hctx;
  v1::RederiveRequest huge;
  huge.set_deriver("huge");
  huge.add_keys("account:1");
  v1::RederiveResponse hresp;
  ASSERT_TRUE(stub_->Rederive(&hctx, huge, &hresp).ok());
  ASSERT_EQ(hresp.failed(), 1u);
  EXPECT_NE(hresp.results(0).error().find("max_payload_bytes"), std::string::npos)
      << hresp.results(0).error();
  EXPECT_EQ(Count("channel = \"balance.updated\""), outputs);

  grpc::Status st;
  grpc::ClientContext uctx;
  req.set_deriver("balanse");
  EXPECT_EQ(stub_->Rederive(&uctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::ClientContext bctx;
  req.set_deriver("balance");
  req.add_keys("account:1");  // keys and a filter
  EXPECT_EQ(stub_->Rederive(&bctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext actx;
  v1::ListAuditRequest areq;
  areq.set_action("Rederive");
  v1::ListAuditResponse audit;
  ASSERT_TRUE(stub_->ListAudit(&actx, areq, &audit).ok());
  EXPECT_EQ(audit.records_size(), 4);
}

}  // namespace
}  // namespace reprise
