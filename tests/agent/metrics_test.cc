// The agent's /metrics endpoint, scraped over real HTTP and read with a
// Prometheus text parser nobody here wrote (python3-prometheus-client):
// every family parses, and the values move as traffic and a job run.
#include "metrics.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/base/version.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise {
namespace {

using namespace std::chrono_literals;

// Scrapes `address` with urllib, parses it with prometheus_client and prints
// one "name{label="value",...} value" line per sample, labels sorted.
constexpr char kScrape[] = R"(
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
with urllib.request.urlopen("http://" + sys.argv[1] + "/metrics", timeout=10) as r:
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
    text = r.read().decode()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, float(s.value)))
)";

using Samples = std::map<std::string, double>;

Samples Scrape(const std::string& address) {
  auto r = testing::RunCommand({"/usr/bin/python3", "-c", kScrape, address});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  Samples samples;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t space = line.rfind(' ');
    if (space != std::string::npos) samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

// The value of a sample, -1 when the scrape has none of that name and labels.
double Value(const Samples& s, const std::string& sample) {
  auto it = s.find(sample);
  return it == s.end() ? -1 : it->second;
}

// A raw HTTP/1.0 exchange with the metrics listener: the status line.
std::string StatusLine(const std::string& address, const std::string& request) {
  const size_t colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect failed";
  }
  (void)!write(fd, request.data(), request.size());
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) reply.append(buf, static_cast<size_t>(n));
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

class MetricsTest : public ::testing::Test {
 protected:
  void Start() {
    auto a = Agent::Start({.service = "metered",
                           .journal = "sqlite:" + dir_.File("j"),
                           .listen = "127.0.0.1:0",
                           .resume_jobs_after = 0ms,
                           .metrics_listen = "127.0.0.1:0"});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    agent_ = std::move(*a);
    ASSERT_FALSE(agent_->metrics_address().empty());
    stub_ = v1::Agent::NewStub(grpc::CreateChannel(agent_->listen_address(), grpc::InsecureChannelCredentials()));
  }

  testing::TempDir dir_;
  std::unique_ptr<Agent> agent_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(MetricsTest, APrometheusParserReadsTheScrapeAndValuesMoveWithTrafficAndJobs) {
  Start();
  // "bad" payloads fail; their reflowed copies wait for the gate, then pass.
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  agent_->Handle("payments", [&](const Message& m, Context& ctx) {
    if (m.payload != "bad") {
      ctx.Emit("notices", m.key, "paid");
      return Status::Ok();
    }
    if (m.origin_id.empty()) return InvalidArgument("bad payment");
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });
    return Status::Ok();
  });
  agent_->Send("notices", [](const Message&) { return Unavailable("notifier down"); });
  for (int i = 0; i < 5; ++i) agent_->Deliver("payments", "acct-" + std::to_string(i), "ok");
  for (int i = 0; i < 2; ++i) agent_->Deliver("payments", "acct-" + std::to_string(i), "bad");
  ASSERT_TRUE(agent_->Flush().ok());

  Samples s = Scrape(agent_->metrics_address());
  bool found_build = false;
  for (const auto& [name, v] : s) {
    if (name.starts_with("reprise_build_info{") && name.find("version=\"" + std::string(kVersion) + "\"") != std::string::npos &&
        name.find("service=\"metered\"") != std::string::npos) {
      found_build = v == 1;
    }
  }
  EXPECT_TRUE(found_build) << "reprise_build_info with the version and service";
  // 7 inbound and 5 emitted messages (outcomes update them, they are no records).
  EXPECT_EQ(Value(s, "reprise_records_committed_total{}"), 12);
  EXPECT_EQ(Value(s, "reprise_records_recorded_total{}"), 12);
  EXPECT_EQ(Value(s, "reprise_records_dropped_total{}"), 0);
  EXPECT_EQ(Value(s, "reprise_channel_messages_total{channel=\"payments\",direction=\"in\"}"), 7);
  EXPECT_EQ(Value(s, "reprise_channel_failures_total{channel=\"payments\",direction=\"in\"}"), 2);
  EXPECT_EQ(Value(s, "reprise_channel_messages_total{channel=\"notices\",direction=\"out\"}"), 5);
  EXPECT_EQ(Value(s, "reprise_channel_failures_total{channel=\"notices\",direction=\"out\"}"), 5);
  EXPECT_EQ(Value(s, "reprise_journal_healthy{}"), 1);
  const double commits = Value(s, "reprise_journal_commit_duration_seconds_count{}");
  EXPECT_GE(commits, 1);
  EXPECT_EQ(Value(s, "reprise_journal_commit_duration_seconds_bucket{le=\"+Inf\"}"), commits);
  EXPECT_GT(Value(s, "reprise_journal_commit_duration_seconds_sum{}"), 0);
  EXPECT_GT(Value(s, "reprise_journal_size_bytes{}"), 0);
  EXPECT_GE(Value(s, "reprise_journal_oldest_message_age_seconds{}"), 0);
  EXPECT_EQ(Value(s, "reprise_recording_queue_limit_bytes{}"), 64 << 20);
  EXPECT_EQ(Value(s, "reprise_jobs_unfinished{}"), 0);
  EXPECT_EQ(Value(s, "reprise_scrape_errors{}"), 0);

  // A reflow of the two failures: its copies wait at the gate.
  grpc::ClientContext ctx;
  v1::StartReflowRequest req;
  req.set_filter("channel = payments and outcome = failed");
  v1::StartReflowResponse resp;
  grpc::Status st = stub_->StartReflow(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  const std::string job = resp.job().id();
  const std::string items = "reprise_job_items{items=\"%\",job=\"" + job + "\",job_state=\"running\",kind=\"reflow\"}";
  auto item = [&](const std::string& which) {
    std::string name = items;
    return name.replace(name.find('%'), 1, which);
  };
  for (int i = 0; i < 100 && Value(s = Scrape(agent_->metrics_address()), item("remaining")) != 2; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(Value(s, "reprise_jobs_unfinished{}"), 1);
  EXPECT_EQ(Value(s, item("remaining")), 2);
  EXPECT_EQ(Value(s, item("done")), 0);
  EXPECT_EQ(Value(s, "reprise_api_calls_total{code=\"OK\",method=\"StartReflow\"}"), 1);

  {
    std::lock_guard lock(mu);
    open = true;
  }
  cv.notify_all();
  for (int i = 0; i < 200 && Value(s = Scrape(agent_->metrics_address()), "reprise_jobs_unfinished{}") != 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(Value(s, "reprise_jobs_unfinished{}"), 0);
  EXPECT_EQ(Value(s, "reprise_channel_messages_total{channel=\"payments\",direction=\"in\"}"), 9)
      << "the two reflowed copies count as messages of their channel";
  EXPECT_EQ(Value(s, "reprise_channel_failures_total{channel=\"payments\",direction=\"in\"}"), 2);
  EXPECT_GT(Value(s, "reprise_journal_commit_duration_seconds_count{}"), commits);

  // A refused call counts under its code.
  grpc::ClientContext bad_ctx;
  v1::StartReflowRequest bad;
  bad.set_filter("outcome = sideways");
  EXPECT_EQ(stub_->StartReflow(&bad_ctx, bad, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  s = Scrape(agent_->metrics_address());
  EXPECT_EQ(Value(s, "reprise_api_calls_total{code=\"INVALID_ARGUMENT\",method=\"StartReflow\"}"), 1);
}

TEST_F(MetricsTest, OnlyGetMetricsIsServed) {
  Start();
  const std::string at = agent_->metrics_address();
  EXPECT_EQ(StatusLine(at, "GET /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 200 OK");
  EXPECT_EQ(StatusLine(at, "GET /other HTTP/1.0\r\n\r\n"), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(StatusLine(at, "POST /metrics HTTP/1.0\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(StatusLine(at, "nonsense\r\n\r\n"), "HTTP/1.1 400 Bad Request");
}

TEST_F(MetricsTest, ATakenPortOrABadAddressIsAStartErrorThatSaysWhatToDo) {
  Start();
  auto again = Agent::Start({.service = "metered", .journal = "sqlite:" + dir_.File("j2"), .listen = "",
                             .metrics_listen = agent_->metrics_address()});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("metrics_listen"), std::string::npos) << again.status().ToString();
  EXPECT_NE(again.status().message().find("pick another"), std::string::npos) << again.status().ToString();
  auto bad = Agent::Start({.service = "metered", .journal = "sqlite:" + dir_.File("j3"), .listen = "",
                           .metrics_listen = "localhost:http"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("HOST:PORT"), std::string::npos) << bad.status().ToString();
}

TEST(MetricsCountsTest, ChannelAndCallCountsAreKeptApart) {
  ChannelCounts channels;
  channels.CountMessage("a", Direction::kIn);
  channels.CountMessage("a", Direction::kOut);
  channels.CountFailure("a", Direction::kOut);
  channels.CountMessage("b", Direction::kIn);
  const auto rows = channels.Rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].channel, "a");
  EXPECT_EQ(rows[0].messages, 1u);
  EXPECT_EQ(rows[0].failed, 0u);
  EXPECT_EQ(rows[1].channel, "b");
  EXPECT_EQ(rows[2].direction, Direction::kOut);
  EXPECT_EQ(rows[2].failed, 1u);
  CallCounts calls;
  calls.Count("Describe", StatusCode::kOk);
  calls.Count("Describe", StatusCode::kOk);
  calls.Count("Describe", StatusCode::kNotFound);
  const auto c = calls.Rows();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].calls, 2u);
  EXPECT_EQ(c[1].code, StatusCode::kNotFound);
}

}  // namespace
}  // namespace reprise
