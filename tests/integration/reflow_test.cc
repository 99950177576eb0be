// Reflow end to end over gRPC against a real agent with a real SQLite journal.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

class ReflowApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Agent::Start({.service = "ledger",
                           .journal = "sqlite:" + dir_.File("reflow.journal"),
                           .listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    stub_ = v1::Agent::NewStub(
        grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }

  v1::Job Start(const std::string& filter, v1::ReflowTarget target, uint32_t concurrency = 1) {
    grpc::ClientContext ctx;
    v1::StartReflowRequest req;
    req.set_filter(filter);
    req.set_target(target);
    req.set_concurrency(concurrency);
    v1::StartReflowResponse resp;
    grpc::Status st = stub_->StartReflow(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.job();
  }

  // Follows WatchJob to the end; returns every progress message.
  std::vector<v1::JobProgress> Watch(const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 60s);
    v1::WatchJobRequest req;
    req.set_id(id);
    auto reader = stub_->WatchJob(&ctx, req);
    std::vector<v1::JobProgress> seen;
    v1::JobProgress p;
    while (reader->Read(&p)) seen.push_back(p);
    grpc::Status st = reader->Finish();
    EXPECT_TRUE(st.ok()) << st.error_message();
    return seen;
  }

  v1::GetMessageResponse Get(const std::string& id) {
    grpc::ClientContext ctx;
    v1::GetMessageRequest req;
    req.set_id(id);
    v1::GetMessageResponse resp;
    EXPECT_TRUE(stub_->GetMessage(&ctx, req, &resp).ok());
    return resp;
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(ReflowApiTest, DownstreamReflowResendsFailuresAsLinkedCopiesAndKeepsOriginals) {
  bool downstream_up = false;
  std::vector<std::string> received;  // what the downstream got, in order
  std::mutex mu;
  agent_->Handle("payments.received", [](const Message& in, Context& ctx) {
    ctx.Emit("balance.updated", in.key, "{\"balance\":\"" + in.payload + "\"}");
    return Status::Ok();
  });
  agent_->Send("balance.updated", [&](const Message& out) {
    std::lock_guard<std::mutex> lock(mu);
    if (!downstream_up) return Unavailable("notifier: HTTP 503");
    received.push_back(out.payload);
    return Status::Ok();
  });
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(agent_->Deliver("payments.received", "account:" + std::to_string(i % 2),
                                std::to_string(i)).status.ok());
  }
  ASSERT_TRUE(agent_->Flush().ok());

  // The failures are recorded.
  grpc::ClientContext lctx;
  v1::ListMessagesRequest lreq;
  lreq.set_filter("direction = out and outcome = failed");
  lreq.set_with_payload(true);
  v1::ListMessagesResponse failures;
  ASSERT_TRUE(stub_->ListMessages(&lctx, lreq, &failures).ok());
  ASSERT_EQ(failures.messages_size(), 10);
  std::map<std::string, std::string> originals;  // id -> serialized message
  for (const auto& m : failures.messages()) originals[m.id()] = Get(m.id()).message().SerializeAsString();

  {
    std::lock_guard<std::mutex> lock(mu);
    downstream_up = true;
  }
  v1::Job job = Start("direction = out and outcome = failed", v1::DOWNSTREAM);
  EXPECT_EQ(job.total(), 10u);
  std::vector<v1::JobProgress> progress = Watch(job.id());
  ASSERT_FALSE(progress.empty());
  EXPECT_TRUE(progress.back().final());
  EXPECT_EQ(progress.back().job().state(), v1::COMPLETED);
  EXPECT_EQ(progress.back().job().done(), 10u);
  EXPECT_EQ(progress.back().remaining(), 0u);
  ASSERT_TRUE(agent_->Flush().ok());

  EXPECT_EQ(received.size(), 10u);
  for (const auto& [id, serialized] : originals) {
    v1::GetMessageResponse now = Get(id);
    // The record is as it was; the journal only notes which copy resolved it.
    v1::Message record = now.message();
    const std::string resolved_by = record.resolved_by();
    record.clear_resolved_by();
    EXPECT_EQ(record.SerializeAsString(), serialized) << "original " << id << " changed";
    ASSERT_EQ(now.copies_size(), 1) << id;
    const v1::Message& copy = now.copies(0);
    EXPECT_EQ(resolved_by, copy.id()) << "an ok copy resolves its original";
    EXPECT_EQ(copy.origin_id(), id);
    EXPECT_EQ(copy.job_id(), job.id());
    EXPECT_EQ(copy.outcome(), v1::OK);
    EXPECT_EQ(copy.attempt(), 2u);
    EXPECT_EQ(Get(copy.id()).message().payload(), now.message().payload());
  }
}

TEST_F(ReflowApiTest, SelfReflowAfterAFixTurnsFailuresIntoOkCopiesInPerKeyOrder) {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> handled;  // key -> payloads, in order
  bool fixed = false;
  agent_->Handle("payments.received", [&](const Message& in, Context&) {
    std::lock_guard<std::mutex> lock(mu);
    if (!fixed && in.payload.find("12,5") != std::string::npos) {
      return InvalidArgument("invalid amount \"12,5\"");
    }
    if (!in.origin_id.empty()) {
      EXPECT_FALSE(in.job_id.empty()) << "a handler can tell it runs in a reflow";
      handled[in.key].push_back(in.payload);
    }
    return Status::Ok();
  });
  std::map<std::string, std::vector<std::string>> expected;
  for (int i = 0; i < 40; ++i) {
    std::string key = "account:" + std::to_string(i % 4);
    std::string payload = "{\"amount\":\"12,5\",\"n\":" + std::to_string(i) + "}";
    agent_->Deliver("payments.received", key, payload);
    expected[key].push_back(payload);
  }
  ASSERT_TRUE(agent_->Flush().ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    fixed = true;  // the code path is fixed
  }
  v1::Job job = Start("outcome = failed and channel = \"payments.received\"", v1::SELF, 3);
  std::vector<v1::JobProgress> progress = Watch(job.id());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().job().done(), 40u);
  EXPECT_EQ(progress.back().job().failed(), 0u);
  ASSERT_TRUE(agent_->Flush().ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(handled, expected);
  }
  grpc::ClientContext ctx;
  v1::CountMessagesRequest req;
  req.set_filter("job = " + job.id() + " and outcome = ok");
  v1::CountMessagesResponse count;
  ASSERT_TRUE(stub_->CountMessages(&ctx, req, &count).ok());
  EXPECT_EQ(count.total(), 40u);
}

TEST_F(ReflowApiTest, DryRunListJobsCancelAndErrors) {
  agent_->Handle("slow", [](const Message&, Context&) {
    std::this_thread::sleep_for(5ms);
    return Status::Ok();
  });
  for (int i = 0; i < 300; ++i) agent_->Deliver("slow", "k" + std::to_string(i % 3), "x");
  ASSERT_TRUE(agent_->Flush().ok());

  grpc::ClientContext dctx;
  v1::StartReflowRequest dreq;
  dreq.set_filter("channel = slow");
  dreq.set_dry_run(true);
  v1::StartReflowResponse dry;
  ASSERT_TRUE(stub_->StartReflow(&dctx, dreq, &dry).ok());
  EXPECT_FALSE(dry.has_job());
  EXPECT_EQ(dry.dry_run().messages(), 300u);
  EXPECT_EQ(dry.dry_run().keys(), 3u);

  v1::Job job = Start("channel = slow", v1::SELF);
  grpc::ClientContext cctx;
  v1::CancelJobRequest creq;
  creq.set_id(job.id());
  v1::Job cancelled;
  ASSERT_TRUE(stub_->CancelJob(&cctx, creq, &cancelled).ok());
  std::vector<v1::JobProgress> progress = Watch(job.id());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().job().state(), v1::CANCELLED);
  EXPECT_LT(progress.back().job().done(), 300u);

  grpc::ClientContext jctx;
  v1::ListJobsResponse jobs;
  ASSERT_TRUE(stub_->ListJobs(&jctx, {}, &jobs).ok());
  ASSERT_EQ(jobs.jobs_size(), 1);
  EXPECT_EQ(jobs.jobs(0).id(), job.id());

  grpc::ClientContext ectx;
  v1::StartReflowRequest bad;
  bad.set_filter("outcome = faild");
  v1::StartReflowResponse ignored;
  grpc::Status st = stub_->StartReflow(&ectx, bad, &ignored);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("did you mean \"failed\""), std::string::npos) << st.error_message();

  grpc::ClientContext wctx;
  v1::WatchJobRequest wreq;
  wreq.set_id("4242");
  auto reader = stub_->WatchJob(&wctx, wreq);
  v1::JobProgress p;
  EXPECT_FALSE(reader->Read(&p));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace reprise

namespace reprise {
namespace {

TEST_F(ReflowApiTest, EveryMutatingCallIsAuditedWithWhoRequestAndResult) {
  agent_->Handle("c", [](const Message&, Context&) { return Status::Ok(); });
  agent_->Deliver("c", "k", "x");
  ASSERT_TRUE(agent_->Flush().ok());

  v1::Job job = Start("channel = c", v1::SELF);
  Watch(job.id());
  grpc::ClientContext bctx;
  v1::StartReflowRequest bad;
  bad.set_filter("chanel = c");
  v1::StartReflowResponse ignored;
  EXPECT_FALSE(stub_->StartReflow(&bctx, bad, &ignored).ok());
  grpc::ClientContext cctx;
  v1::CancelJobRequest creq;
  creq.set_id(job.id());
  v1::Job cancelled;
  EXPECT_EQ(stub_->CancelJob(&cctx, creq, &cancelled).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // it already completed

  grpc::ClientContext actx;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(stub_->ListAudit(&actx, {}, &audit).ok());
  ASSERT_EQ(audit.records_size(), 3) << "reads (Watch, ListAudit) are not audited";
  const v1::AuditRecord& cancel = audit.records(0);
  EXPECT_EQ(cancel.action(), "CancelJob");
  EXPECT_FALSE(cancel.ok());
  EXPECT_NE(cancel.result().find("FAILED_PRECONDITION"), std::string::npos);
  EXPECT_NE(cancel.request().find("\"id\":\"" + job.id() + "\""), std::string::npos) << cancel.request();
  const v1::AuditRecord& refused = audit.records(1);
  EXPECT_EQ(refused.action(), "StartReflow");
  EXPECT_NE(refused.result().find("INVALID_ARGUMENT"), std::string::npos);
  const v1::AuditRecord& started = audit.records(2);
  EXPECT_TRUE(started.ok());
  EXPECT_NE(started.request().find("channel = c"), std::string::npos);
  EXPECT_NE(started.who().find("127.0.0.1"), std::string::npos) << started.who();
  EXPECT_FALSE(started.instance().empty());
}

}  // namespace
}  // namespace reprise
