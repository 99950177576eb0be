// The agent's log: levels, the default stderr line, and what a running agent
// logs through a host's sink (audited API calls, refused ones, jobs).
#include "reprise/agent/log.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "logger.h"
#include "reprise/agent/agent.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"
#include "support/test_pki.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

// The events a sink was given, as "level component: message".
class Captured {
 public:
  LogSink Sink() {
    return [this](const LogEvent& e) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(std::string(LogLevelName(e.level)) + " " + std::string(e.component) +
                       ": " + std::string(e.message));
    };
  }
  std::vector<std::string> Lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // Waits up to 10 s for a line containing `needle`; "" if none came.
  std::string WaitFor(const std::string& needle) const {
    for (int i = 0; i < 1000; ++i) {
      for (const std::string& l : Lines()) {
        if (l.find(needle) != std::string::npos) return l;
      }
      std::this_thread::sleep_for(10ms);
    }
    return "";
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST(LogTest, LevelsFilterAndNamesRoundTrip) {
  Captured got;
  Logger log(LogLevel::kWarning, got.Sink());
  log.Info("jobs", "not shown");
  log.Warning("journal", "shown");
  log.Log(LogLevel::kError, "api", "also shown");
  EXPECT_EQ(got.Lines(), (std::vector<std::string>{"warning journal: shown", "error api: also shown"}));
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    EXPECT_EQ(ParseLogLevel(LogLevelName(l)), l);
  }
  EXPECT_FALSE(ParseLogLevel("verbose").has_value());
}

TEST(LogTest, ASinkThatThrowsDoesNotEscape) {
  Logger log(LogLevel::kInfo, [](const LogEvent&) { throw std::runtime_error("sink broke"); });
  log.Info("jobs", "x");  // no exception
  SUCCEED();
}

TEST(LogTest, TheDefaultSinkWritesOneLineWithTimeLevelAndComponentToStderr) {
  testing::TempDir dir;
  std::fflush(stderr);
  const int saved = dup(2);
  FILE* f = std::fopen(dir.File("err").c_str(), "w");
  ASSERT_NE(f, nullptr);
  dup2(fileno(f), 2);
  Logger log(LogLevel::kInfo, nullptr);
  log.Info("journal", "writes recovered");
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(f);
  std::ifstream in(dir.File("err"));
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(std::regex_match(
      text.str(),
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO journal: writes recovered\n)")))
      << text.str();
}

TEST(LogTest, AnAgentLogsAuditedCallsRefusedCallsAndJobs) {
  testing::TempDir dir;
  // One operator token: calls without one are refused (UNAUTHENTICATED).
  ASSERT_TRUE(testing::WriteFile(dir.File("tokens"),
                                 "otto operator sha256:" + std::string(64, 'a') + "\n"));
  Captured got;
  {
    auto a = Agent::Start({.service = "logs", .journal = "sqlite:" + dir.File("j"),
                           .listen = "127.0.0.1:0", .token_file = dir.File("tokens"),
                           .log_sink = got.Sink()});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    auto stub = v1::Agent::NewStub(
        grpc::CreateChannel((*a)->listen_address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    v1::StartReflowRequest req;
    v1::StartReflowResponse resp;
    EXPECT_EQ(stub->StartReflow(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_NE(got.WaitFor("info api: StartReflow by "), "");
    EXPECT_NE(got.WaitFor("UNAUTHENTICATED"), "");
  }
  // Jobs: the agent's own reflow of one message, through the library's engine.
  auto a = Agent::Start({.service = "logs", .journal = "sqlite:" + dir.File("j2"),
                         .listen = "127.0.0.1:0", .log_sink = got.Sink()});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  (*a)->Handle("c", [](const Message&, Context&) { return Status::Ok(); });
  (*a)->Deliver("c", "k", "x");
  ASSERT_TRUE((*a)->Flush().ok());
  auto stub = v1::Agent::NewStub(
      grpc::CreateChannel((*a)->listen_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::StartReflowRequest req;
  req.set_filter("channel = c");
  v1::StartReflowResponse resp;
  grpc::Status st = stub->StartReflow(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string id = resp.job().id();
  EXPECT_NE(got.WaitFor("info api: StartReflow by "), "");
  EXPECT_NE(got.WaitFor("info jobs: job " + id + " runs here (1 items"), "");
  EXPECT_NE(got.WaitFor("info jobs: job " + id + " completed"), "");
}

}  // namespace
}  // namespace reprise
