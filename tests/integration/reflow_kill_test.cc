// Kill -9 of a real process in the middle of a reflow job: after a restart
// the job resumes and completes, and no message is delivered twice except
// those in flight at the crash, which are marked.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <thread>

#include "reprise/store/journal.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/reflow_copies.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;
using testing::BinaryPath;
using testing::Subprocess;

struct Host {
  Subprocess process;
  std::unique_ptr<v1::Agent::Stub> stub;
};

std::optional<Host> StartHost(const std::string& journal, std::vector<std::string> extra) {
  std::vector<std::string> argv = {BinaryPath("reprise-test-host"), "--journal", journal,
                                   "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto p = Subprocess::Start(argv);
  if (!p) return std::nullopt;
  auto line = p->WaitForLine("listening on ", 60s);
  if (!line) return std::nullopt;
  std::string address = line->substr(line->find("listening on ") + 13);
  Host h{std::move(*p), v1::Agent::NewStub(grpc::CreateChannel(
                            address, grpc::InsecureChannelCredentials()))};
  return h;
}

v1::Job GetJob(v1::Agent::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  v1::GetJobRequest req;
  req.set_id(id);
  v1::Job job;
  grpc::Status st = stub.GetJob(&ctx, req, &job);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return job;
}

TEST(ReflowKillTest, AJobResumesAfterKill9AndOnlyInFlightItemsRepeatMarked) {
  testing::TempDir dir;
  const std::string journal = "sqlite:" + dir.File("kill.journal");
  constexpr int kMessages = 400;
  {
    // The buggy release records the failures.
    auto buggy = StartHost(journal, {"--no-seed", "--seed-failures", std::to_string(kMessages)});
    ASSERT_TRUE(buggy.has_value());
    buggy->process.Kill(SIGTERM);
  }
  // The fixed release replays them, slowly enough to be killed mid-job.
  auto fixed = StartHost(journal, {"--no-seed", "--fixed", "--handler-delay-ms", "4"});
  ASSERT_TRUE(fixed.has_value());
  grpc::ClientContext ctx;
  v1::StartReflowRequest req;
  req.set_filter("outcome = failed and channel = \"payments.received\"");
  req.set_concurrency(2);
  v1::StartReflowResponse resp;
  ASSERT_TRUE(fixed->stub->StartReflow(&ctx, req, &resp).ok());
  const std::string id = resp.job().id();
  ASSERT_EQ(resp.job().total(), static_cast<uint64_t>(kMessages));
  for (int i = 0; i < 600 && GetJob(*fixed->stub, id).done() < kMessages / 4; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  uint64_t done_at_kill = GetJob(*fixed->stub, id).done();
  ASSERT_LT(done_at_kill, static_cast<uint64_t>(kMessages)) << "killed too late to test a resume";
  fixed->process.Kill(SIGKILL);

  auto restarted = StartHost(journal, {"--no-seed", "--fixed"});
  ASSERT_TRUE(restarted.has_value());
  v1::Job job;
  for (int i = 0; i < 3000; ++i) {
    job = GetJob(*restarted->stub, id);
    if (job.state() != v1::RUNNING) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(job.state(), v1::COMPLETED);
  EXPECT_EQ(job.done(), static_cast<uint64_t>(kMessages));
  restarted->process.Kill(SIGTERM);

  // Every selected message has an ok copy from this job; a second copy only
  // for those in flight at the kill, and the repeat is marked.
  auto j = Journal::Open(journal);
  ASSERT_TRUE(j.ok());
  auto listed = testing::CopiesByOrigin(**j, id, "payments.received");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  const std::map<std::string, std::vector<Message>>& copies = *listed;
  EXPECT_EQ(copies.size(), static_cast<size_t>(kMessages));
  size_t repeated = 0;
  for (const auto& [origin, list] : copies) {
    size_t ok = 0, marked = 0;
    for (const Message& c : list) {
      if (c.outcome == Outcome::kOk) ++ok;
      if (c.headers.count("reprise-redelivery")) ++marked;
    }
    EXPECT_GE(ok, 1u) << origin;
    if (list.size() > 1) {
      ++repeated;
      EXPECT_EQ(marked, list.size() - 1) << origin << ": a repeat must be marked";
    }
  }
  EXPECT_EQ(job.redelivered() >= repeated, true);
  EXPECT_LE(repeated, 256u + 2u) << "only the batch in flight may repeat";
}

}  // namespace
}  // namespace reprise
