// Kill -9 of a real process in the middle of a reflow job: after a restart
// the job resumes and completes, and no message is delivered twice except
// those in flight at the crash, which are marked; in process durability
// only those.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
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

// What a kill -9 in the middle of a reflow left, once a restart finished it.
struct KillOutcome {
  uint64_t done_at_kill = 0;
  v1::Job job;                 // as it ended
  size_t repeated = 0;         // selected messages with more than one copy
  size_t marked = 0;           // copies marked in-flight-at-crash
};

// Records kMessages failures, replays them with `concurrency` lanes in
// `durability`, kills the host with SIGKILL a quarter of the way in (inside
// its first claim of 256 items), restarts it and waits for the job to end.
// Checks that every selected message has an ok copy and every repeat is
// marked.
constexpr int kMessages = 400;
void KillMidJob(const std::string& durability, uint32_t concurrency, KillOutcome* out) {
  testing::TempDir dir;
  const std::string journal = "sqlite:" + dir.File("kill.journal");
  {
    // The buggy release records the failures.
    auto buggy = StartHost(journal, {"--no-seed", "--seed-failures", std::to_string(kMessages)});
    ASSERT_TRUE(buggy.has_value());
    buggy->process.Kill(SIGTERM);
  }
  // The fixed release replays them, slowly enough to be killed mid-job.
  auto fixed = StartHost(journal, {"--no-seed", "--fixed", "--handler-delay-ms", "4", "--durability", durability});
  ASSERT_TRUE(fixed.has_value());
  grpc::ClientContext ctx;
  v1::StartReflowRequest req;
  req.set_filter("outcome = failed and channel = \"payments.received\"");
  req.set_concurrency(concurrency);
  v1::StartReflowResponse resp;
  ASSERT_TRUE(fixed->stub->StartReflow(&ctx, req, &resp).ok());
  const std::string id = resp.job().id();
  ASSERT_EQ(resp.job().total(), static_cast<uint64_t>(kMessages));
  for (int i = 0; i < 600 && GetJob(*fixed->stub, id).done() < kMessages / 4; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  out->done_at_kill = GetJob(*fixed->stub, id).done();
  ASSERT_LT(out->done_at_kill, static_cast<uint64_t>(kMessages)) << "killed too late to test a resume";
  fixed->process.Kill(SIGKILL);

  auto restarted = StartHost(journal, {"--no-seed", "--fixed", "--durability", durability});
  ASSERT_TRUE(restarted.has_value());
  for (int i = 0; i < 3000; ++i) {
    out->job = GetJob(*restarted->stub, id);
    if (out->job.state() != v1::RUNNING) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(out->job.state(), v1::COMPLETED);
  EXPECT_EQ(out->job.done(), static_cast<uint64_t>(kMessages));
  restarted->process.Kill(SIGTERM);

  // Every selected message has an ok copy from this job; a second copy only
  // for those that may have been delivered before the kill, and the repeat
  // is marked.
  auto j = Journal::Open(journal);
  ASSERT_TRUE(j.ok());
  auto listed = testing::CopiesByOrigin(**j, id, "payments.received");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  const std::map<std::string, std::vector<Message>>& copies = *listed;
  EXPECT_EQ(copies.size(), static_cast<size_t>(kMessages));
  for (const auto& [origin, list] : copies) {
    size_t ok = 0, marked = 0;
    for (const Message& c : list) {
      if (c.outcome == Outcome::kOk) ++ok;
      if (c.headers.count("reprise-redelivery")) ++marked;
    }
    EXPECT_GE(ok, 1u) << origin;
    out->marked += marked;
    if (list.size() > 1) {
      ++out->repeated;
      EXPECT_EQ(marked, list.size() - 1) << origin << ": a repeat must be marked";
    }
  }
  EXPECT_EQ(out->job.redelivered(), out->marked);
}

TEST(ReflowKillTest, AJobResumesAfterKill9AndOnlyInFlightItemsRepeatMarked) {
  KillOutcome o;
  ASSERT_NO_FATAL_FAILURE(KillMidJob("async", 2, &o));
  EXPECT_LE(o.repeated, 256u + 2u) << "only the batch in flight may repeat";
}

// In process durability a copy is committed before its dispatch, so the
// restart tells the items the killed process dispatched (a copy, still
// pending: at most one per lane) from the rest of its claim (no copy),
// which are replayed unmarked.
TEST(ReflowKillTest, InProcessDurabilityOnlyItemsDispatchedAtTheKillAreMarked) {
  constexpr uint32_t kConcurrency = 4;
  KillOutcome o;
  ASSERT_NO_FATAL_FAILURE(KillMidJob("process", kConcurrency, &o));
  // Killed inside the first claim: it held items never dispatched, which the
  // old settlement marked wholesale.
  ASSERT_LT(o.done_at_kill + kConcurrency, 256u) << "killed past the first claim";
  std::printf("killed at %llu done; %zu marked copies, %zu repeated messages\n",
              static_cast<unsigned long long>(o.done_at_kill), o.marked, o.repeated);
  EXPECT_LE(o.marked, kConcurrency) << "marked copies: at most the items in flight at the kill";
  EXPECT_LE(o.repeated, kConcurrency);
  EXPECT_LE(o.job.redelivered(), kConcurrency);
}

}  // namespace
}  // namespace reprise
