// The shell and the commands against an in-process fake agent: paging,
// limits, JSON, error mapping and exit codes, deterministically.
#include "reprise/console/shell.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <sstream>

#include "reprise/console/commands.h"
#include "reprise/v1/agent.grpc.pb.h"
#include "support/test_env.h"

namespace reprise::console {
namespace {

// Serves `count` messages, newest first, with index page tokens. The filter
// "bad" is rejected the way the real agent rejects unknown fields.
class FakeAgent final : public v1::Agent::Service {
 public:
  explicit FakeAgent(int count) : count_(count) {}

  grpc::Status Describe(grpc::ServerContext*, const v1::DescribeRequest*,
                        v1::DescribeResponse* r) override {
    r->set_service("fake");
    r->add_channels()->set_channel("payments.received");
    r->add_filter_fields()->set_name("channel");
    return grpc::Status::OK;
  }
  grpc::Status ListMessages(grpc::ServerContext*, const v1::ListMessagesRequest* req,
                            v1::ListMessagesResponse* r) override {
    {
      std::lock_guard lock(mu_);
      requests_.push_back(*req);
    }
    if (req->filter() == "bad") {
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "filter: unknown field \"bad\" at column 1; did you mean \"key\"?"};
    }
    int start = req->page_token().empty() ? 0 : std::stoi(req->page_token());
    int size = req->page_size() == 0 ? 50 : static_cast<int>(req->page_size());
    int end = std::min(count_, start + size);
    for (int i = start; i < end; ++i) {
      auto* m = r->add_messages();
      char id[32];
      std::snprintf(id, sizeof id, "01FAKE%020d", count_ - i);
      m->set_id(id);
      m->set_channel("payments.received");
      m->set_outcome(v1::FAILED);
      m->set_error("error " + std::to_string(i));
    }
    if (end < count_) r->set_next_page_token(std::to_string(end));
    return grpc::Status::OK;
  }
  grpc::Status GetMessage(grpc::ServerContext*, const v1::GetMessageRequest* req,
                          v1::GetMessageResponse* r) override {
    if (req->id() != "01X") return {grpc::StatusCode::NOT_FOUND, "message " + req->id() + " does not exist"};
    r->mutable_message()->set_id("01X");
    r->mutable_message()->set_payload("{\"a\":1}");
    return grpc::Status::OK;
  }
  grpc::Status CountMessages(grpc::ServerContext*, const v1::CountMessagesRequest* req,
                             v1::CountMessagesResponse* r) override {
    if (!req->group_by().empty() && req->group_by() != "channel") {
      return {grpc::StatusCode::INVALID_ARGUMENT, "group by: unknown field"};
    }
    if (!req->group_by().empty()) {
      auto* g = r->add_groups();
      g->set_value("payments.received");
      g->set_count(3);
      g = r->add_groups();
      g->set_value("");
      g->set_count(1);
    }
    r->set_total(4);
    return grpc::Status::OK;
  }

  std::vector<v1::ListMessagesRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  int count_;
  std::mutex mu_;
  std::vector<v1::ListMessagesRequest> requests_;
};

// A pager that answers from a script and records what it was asked.
class ScriptedPager : public Pager {
 public:
  explicit ScriptedPager(std::deque<bool> answers) : answers_(std::move(answers)) {}
  bool interactive() const override { return true; }
  size_t page_rows() const override { return 3; }
  bool Continue(size_t shown) override {
    asked_.push_back(shown);
    if (answers_.empty()) return false;
    bool a = answers_.front();
    answers_.pop_front();
    return a;
  }
  std::vector<size_t> asked_;

 private:
  std::deque<bool> answers_;
};

class ShellTest : public ::testing::Test {
 protected:
  void StartAgent(int messages) {
    fake_ = std::make_unique<FakeAgent>(messages);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(fake_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  // Runs `line` in a fresh console; returns its status.
  CommandStatus Run(const std::string& line, bool json = false, Pager* pager = nullptr) {
    out_.str("");
    err_.str("");
    Output output(out_, err_, {.json = json, .width = 100});
    AgentClient agent(address_, std::chrono::seconds(5));
    NoPager no_pager;
    CommandRegistry registry;
    RegisterBuiltinCommands(registry);
    Session session(registry, output, agent, pager ? *pager : no_pager, {});
    Shell shell(session);
    return shell.Execute(line);
  }
  std::vector<std::string> OutLines() {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
  }

  std::unique_ptr<FakeAgent> fake_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_ = "127.0.0.1:1";
  std::ostringstream out_, err_;
};

TEST_F(ShellTest, FindWithoutTerminalPrintsFiftyAndSaysHowToSeeMore) {
  StartAgent(120);
  ASSERT_TRUE(Run("find").ok()) << err_.str();
  auto lines = OutLines();
  ASSERT_EQ(lines.size(), 52u) << out_.str();  // header, 50 rows, hint
  EXPECT_EQ(lines[0].rfind("id ", 0), 0u);
  EXPECT_EQ(lines[1].rfind("01FAKE00000000000000000120", 0), 0u) << "newest first";
  EXPECT_EQ(lines.back(), "-- 50 shown, more match; to see more: find limit 200 --");
}

TEST_F(ShellTest, FindLimitFetchesExactlyThatManyWithTheFilterVerbatim) {
  StartAgent(120);
  ASSERT_TRUE(Run("find channel = \"payments.received\"  and key ~ 'a*' limit 7").ok());
  auto requests = fake_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].filter(), "channel = \"payments.received\"  and key ~ 'a*'");
  EXPECT_EQ(requests[0].page_size(), 7u);
  auto lines = OutLines();
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines.back(),
            "-- 7 shown, more match; to see more: find channel = \"payments.received\"  and key ~ "
            "'a*' limit 200 --");
}

TEST_F(ShellTest, FindLimitAboveThePageMaximumFollowsPageTokens) {
  StartAgent(1500);
  ASSERT_TRUE(Run("find limit 1200").ok());
  auto requests = fake_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].page_size(), 1000u);
  EXPECT_EQ(requests[1].page_size(), 200u);
  EXPECT_EQ(requests[1].page_token(), "1000");
  EXPECT_EQ(OutLines().size(), 1202u);
}

TEST_F(ShellTest, FindEverythingFitsNoHint) {
  StartAgent(3);
  ASSERT_TRUE(Run("find").ok());
  EXPECT_EQ(OutLines().size(), 4u) << out_.str();
  StartAgent(0);
  ASSERT_TRUE(Run("find").ok());
  EXPECT_EQ(out_.str(), "no messages match\n");
}

TEST_F(ShellTest, FindBadLimitIsAUsageError) {
  StartAgent(3);
  EXPECT_EQ(Run("find limit x").code, CommandCode::kUsage);
  EXPECT_EQ(Run("find limit 0").code, CommandCode::kUsage);
  EXPECT_EQ(Run("find outcome = failed limit").code, CommandCode::kUsage);
  EXPECT_NE(err_.str().find("limit needs a value"), std::string::npos) << err_.str();
}

TEST_F(ShellTest, FindPagesOnATerminalUntilStopped) {
  StartAgent(20);
  ScriptedPager pager({true, false});
  ASSERT_TRUE(Run("find", false, &pager).ok());
  EXPECT_EQ(pager.asked_, (std::vector<size_t>{3, 6}));
  auto requests = fake_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].page_size(), 3u);
  EXPECT_EQ(requests[1].page_token(), "3");
  EXPECT_EQ(OutLines().size(), 8u) << "two pages with a header each";
}

TEST_F(ShellTest, FindPagingStopsAtTheEndWithoutAsking) {
  StartAgent(5);
  ScriptedPager pager({true, true, true});
  ASSERT_TRUE(Run("find", false, &pager).ok());
  EXPECT_EQ(pager.asked_, (std::vector<size_t>{3}));
}

TEST_F(ShellTest, FindJsonIsOneListMessagesResponse) {
  StartAgent(60);
  ASSERT_TRUE(Run("find", true).ok());
  auto lines = OutLines();
  ASSERT_EQ(lines.size(), 1u);
  v1::ListMessagesResponse parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &parsed).ok()) << lines[0];
  EXPECT_EQ(parsed.messages_size(), 50);
  EXPECT_EQ(parsed.next_page_token(), "50");
  EXPECT_EQ(parsed.messages(0).outcome(), v1::FAILED);
}

TEST_F(ShellTest, AgentErrorsPrintCodeAndMessageAsIs) {
  StartAgent(3);
  CommandStatus s = Run("find bad");
  EXPECT_EQ(s.code, CommandCode::kFailed);
  EXPECT_EQ(ExitCode(s), 1);
  EXPECT_EQ(err_.str(),
            "INVALID_ARGUMENT: filter: unknown field \"bad\" at column 1; did you mean \"key\"?\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(ShellTest, AgentErrorsInJsonModeAlsoPrintAnErrorObject) {
  StartAgent(3);
  EXPECT_EQ(Run("show nope", true).code, CommandCode::kFailed);
  EXPECT_EQ(out_.str(),
            "{\"error\":{\"code\":\"NOT_FOUND\",\"message\":\"NOT_FOUND: message nope does not "
            "exist\"}}\n");
}

TEST_F(ShellTest, UnreachableAgentSaysSoWithAHint) {
  address_ = "127.0.0.1:" + std::to_string(testing::FreePort());
  CommandStatus s = Run("status");
  EXPECT_EQ(s.code, CommandCode::kUnreachable);
  EXPECT_EQ(ExitCode(s), 3);
  EXPECT_NE(s.message.find("cannot reach agent at " + address_ + ": "), std::string::npos)
      << s.message;
  EXPECT_NE(s.message.find("is the service running? use --agent HOST:PORT"), std::string::npos);
}

TEST_F(ShellTest, HelpAndQuitWorkWithoutAnAgent) {
  address_ = "127.0.0.1:" + std::to_string(testing::FreePort());
  EXPECT_TRUE(Run("help").ok());
  EXPECT_NE(out_.str().find("find [FILTER] [limit N]"), std::string::npos);
  EXPECT_TRUE(Run("help count").ok());
  EXPECT_EQ(out_.str().rfind("usage: count [FILTER] [by FIELD]", 0), 0u);
  EXPECT_EQ(Run("quit").code, CommandCode::kQuit);
  EXPECT_EQ(Run("help nope").code, CommandCode::kUsage);
}

TEST_F(ShellTest, HelpJsonListsTheRegistry) {
  ASSERT_TRUE(Run("help", true).ok());
  EXPECT_EQ(out_.str().rfind("{\"commands\":[{\"name\":\"status\"", 0), 0u) << out_.str();
  EXPECT_NE(out_.str().find("\"name\":\"count\",\"synopsis\":\"[FILTER] [by FIELD]\""),
            std::string::npos);
}

TEST_F(ShellTest, UnknownCommandIsAUsageErrorWithSuggestion) {
  CommandStatus s = Run("fnid outcome = failed");
  EXPECT_EQ(s.code, CommandCode::kUsage);
  EXPECT_EQ(err_.str(), "unknown command \"fnid\"; did you mean \"find\"? (type help for the list)\n");
  EXPECT_EQ(Run("find \"open").code, CommandCode::kUsage);
}

TEST_F(ShellTest, InvalidUtf8IsAUsageErrorThatNeverReachesTheAgent) {
  StartAgent(3);
  CommandStatus s = Run("find key = \"caf\xe9\"");  // Latin-1, not UTF-8
  EXPECT_EQ(s.code, CommandCode::kUsage);
  EXPECT_EQ(err_.str(),
            "input is not valid UTF-8 at byte 16 (\\xe9); type it again, or set the terminal to "
            "UTF-8 (LANG=C.UTF-8)\n");
  EXPECT_EQ(out_.str(), "");
  EXPECT_TRUE(Run("find key = \"caf\xc3\xa9\"").ok()) << err_.str();
}

TEST_F(ShellTest, CountTotalAndGroups) {
  StartAgent(3);
  ASSERT_TRUE(Run("count").ok());
  EXPECT_EQ(out_.str(), "4 messages match\n");
  ASSERT_TRUE(Run("count outcome = failed by channel").ok());
  EXPECT_EQ(out_.str(),
            "channel            count  share\n"
            "payments.received      3  75.0%\n"
            "(none)                 1  25.0%\n"
            "total                  4\n");
  EXPECT_EQ(Run("count by").code, CommandCode::kUsage);
  EXPECT_EQ(Run("count by nope").code, CommandCode::kFailed);
}

TEST_F(ShellTest, SeveralCommandsStopAtTheFirstFailure) {
  StartAgent(3);
  CommandStatus s = Run("count; count by nope; count");
  EXPECT_EQ(s.code, CommandCode::kFailed);
  EXPECT_EQ(out_.str(), "4 messages match\n\n") << "the third command did not run";
}

TEST_F(ShellTest, ShowUsage) {
  StartAgent(3);
  EXPECT_EQ(Run("show").code, CommandCode::kUsage);
  EXPECT_EQ(Run("show a b").code, CommandCode::kUsage);
  ASSERT_TRUE(Run("show 01X").ok());
  EXPECT_NE(out_.str().find("{\n  \"a\": 1\n}"), std::string::npos) << out_.str();
}

TEST_F(ShellTest, ScriptSkipsCommentsAndStopsAtFailure) {
  StartAgent(3);
  Output output(out_, err_, {.width = 100});
  AgentClient agent(address_, std::chrono::seconds(5));
  NoPager pager;
  CommandRegistry registry;
  RegisterBuiltinCommands(registry);
  Session session(registry, output, agent, pager, {});
  Shell shell(session);
  std::istringstream ok_script("# counts\n\ncount\n  # indented comment\ncount \\\n by channel\n");
  StreamLineReader ok_reader(ok_script);
  EXPECT_EQ(shell.RunScript(ok_reader), 0);
  EXPECT_NE(out_.str().find("total"), std::string::npos);
  std::istringstream bad_script("count\nfind bad\ncount\n");
  StreamLineReader bad_reader(bad_script);
  out_.str("");
  EXPECT_EQ(shell.RunScript(bad_reader), 1);
  EXPECT_EQ(out_.str(), "4 messages match\n");
  std::istringstream quit_script("quit\nfind bad\n");
  StreamLineReader quit_reader(quit_script);
  EXPECT_EQ(shell.RunScript(quit_reader), 0);
}

}  // namespace
}  // namespace reprise::console
