// The interactive console on a real terminal: the real `reprise` binary in a
// detached tmux session, driven with send-keys and read with capture-pane.
// Tab completion, history across runs, Up-arrow, paging, Ctrl-C and colors.
// These tests need tmux and fail (not skip) without it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "console_harness.h"
#include "reprise/console/command_registry.h"
#include "reprise/console/commands.h"
#include "reprise/console/format.h"

namespace reprise::console {
namespace {

using namespace std::chrono_literals;
using reprise::testing::RunCommand;

std::string FindTmux() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = dir + "/tmux";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A tmux server of our own (its socket in a temp dir) with one session
// running /bin/sh, so the pane outlives the console and shows what it left.
class Tmux {
 public:
  Tmux(const std::string& tmux, const std::string& dir, int width, int height)
      : tmux_(tmux), socket_(dir + "/tmux-" + std::to_string(++count_) + ".sock") {
    auto r = Run({"new-session", "-d", "-s", "t", "-x", std::to_string(width), "-y",
                  std::to_string(height), "env PS1='sh$ ' /bin/sh"});
    started_ = r.exit_code == 0;
    start_error_ = r.err;
  }
  ~Tmux() { Run({"kill-server"}); }

  bool started() const { return started_; }
  const std::string& start_error() const { return start_error_; }

  reprise::testing::CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {tmux_, "-S", socket_});
    return RunCommand(args, "", {}, 20s);
  }
  // Keys by tmux name ("Tab", "Enter", "Up", "C-c") or literal text.
  void Keys(const std::vector<std::string>& keys) {
    std::vector<std::string> args = {"send-keys", "-t", "t"};
    args.insert(args.end(), keys.begin(), keys.end());
    Run(args);
  }
  void Type(const std::string& text) { Run({"send-keys", "-t", "t", "-l", text}); }
  // The visible pane, trailing blank lines removed; with escapes for colors.
  std::string Capture(bool escapes = false) {
    std::vector<std::string> args = {"capture-pane", "-p", "-J", "-t", "t"};
    if (escapes) args.push_back("-e");
    std::string out = Run(args).out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
  }
  std::string LastLine() {
    std::string pane = Capture();
    size_t nl = pane.rfind('\n');
    return nl == std::string::npos ? pane : pane.substr(nl + 1);
  }
  // Polls until `done(pane)` holds; the last pane on timeout (for messages).
  template <typename Pred>
  bool WaitUntil(Pred done, std::string* pane, std::chrono::milliseconds timeout = 15s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      *pane = Capture();
      if (done(*pane)) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(100ms);
    }
  }
  bool WaitFor(const std::string& needle, std::string* pane) {
    return WaitUntil([&](const std::string& p) { return p.find(needle) != std::string::npos; },
                     pane);
  }
  bool WaitForLastLine(const std::string& line, std::string* pane) {
    return WaitUntil(
        [&](const std::string& p) {
          size_t nl = p.rfind('\n');
          return (nl == std::string::npos ? p : p.substr(nl + 1)) == line;
        },
        pane);
  }

 private:
  static inline int count_ = 0;
  std::string tmux_, socket_;
  bool started_ = false;
  std::string start_error_;
};

class ConsoleTmuxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new testing::TestHost(); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  void SetUp() override {
    tmux_path_ = FindTmux();
    ASSERT_FALSE(tmux_path_.empty())
        << "tmux is not installed; the interactive console tests need it (apt-get install tmux)";
    ASSERT_FALSE(host_->address().empty()) << "reprise-test-host did not start";
    history_ = dir_.File("history");
  }
  // A tmux session running the console, waiting for its first prompt.
  std::unique_ptr<Tmux> StartConsole(int width = 160, int height = 40,
                                     const std::string& address = "") {
    auto tmux = std::make_unique<Tmux>(tmux_path_, dir_.path(), width, height);
    EXPECT_TRUE(tmux->started()) << tmux->start_error();
    std::string pane;
    EXPECT_TRUE(tmux->WaitForLastLine("sh$", &pane)) << pane;
    // A fixed inputrc and our own history file: the machine's settings
    // must not change what the keys do. NO_COLOR (set by CI) would turn off
    // the colors that some tests look for.
    tmux->Type("env -u NO_COLOR INPUTRC=/dev/null REPRISE_HISTORY=" + history_ + " " +
               reprise::testing::BinaryPath("reprise") + " --agent " +
               (address.empty() ? host_->address() : address));
    tmux->Keys({"Enter"});
    EXPECT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
    return tmux;
  }

  static constexpr const char* kPrompt = "test-host>";
  static testing::TestHost* host_;
  std::string tmux_path_;
  reprise::testing::TempDir dir_;
  std::string history_;
};
testing::TestHost* ConsoleTmuxTest::host_ = nullptr;

TEST_F(ConsoleTmuxTest, TabCompletesCommandsFieldsChannelsAndValues) {
  auto tmux = StartConsole();
  std::string pane;
  tmux->Type("sta");
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> status", &pane)) << pane;
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("health ok", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;

  tmux->Type("find chan");
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> find channel", &pane)) << pane;
  tmux->Type("= pay");
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> find channel = \"payments.received\"", &pane))
      << pane;
  tmux->Type("and outc");
  tmux->Keys({"Tab"});
  tmux->Type("= fa");
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine(
      "test-host> find channel = \"payments.received\" and outcome = failed", &pane))
      << pane;
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("boom: the handler threw", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  // On a terminal, outcomes are colored.
  EXPECT_NE(tmux->Capture(true).find("\033[31mfailed"), std::string::npos)
      << tmux->Capture(true);
}

TEST_F(ConsoleTmuxTest, TabListsChoicesWhenAmbiguous) {
  auto tmux = StartConsole();
  std::string pane;
  tmux->Type("count by channel; help fi");
  tmux->Keys({"Tab", "Tab"});
  // Readline lists the choices under the line and keeps what was typed.
  ASSERT_TRUE(tmux->WaitFor("\nfilter  find", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> count by channel; help fi", &pane)) << pane;
  EXPECT_NE(pane.find("test-host> count by channel; help fi"), std::string::npos) << pane;
}

TEST_F(ConsoleTmuxTest, HistoryPersistsAcrossRunsAndUpArrowRecallsIt) {
  std::string pane;
  {
    auto tmux = StartConsole();
    tmux->Type("count by \\");
    tmux->Keys({"Enter"});
    tmux->Type("channel");
    tmux->Keys({"Enter"});
    ASSERT_TRUE(tmux->WaitFor("total", &pane)) << pane;
    ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
    tmux->Keys({"C-d"});  // leave with Ctrl-D: nothing else enters the history
    ASSERT_TRUE(tmux->WaitForLastLine("sh$", &pane)) << pane;
  }
  // Appended as one entry, right away, in the file named by REPRISE_HISTORY.
  EXPECT_EQ(ReadFile(history_), "count by  channel\n");

  auto tmux = StartConsole();
  tmux->Keys({"Up"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> count by  channel", &pane)) << pane;
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("total", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("status");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("health ok", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Keys({"Up", "Up"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> count by  channel", &pane)) << pane;
  tmux->Keys({"C-u"});
  tmux->Type("quit");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitForLastLine("sh$", &pane)) << pane;
  EXPECT_EQ(ReadFile(history_), "count by  channel\nstatus\nquit\n")
      << "a repeated command is not stored twice";
}

TEST_F(ConsoleTmuxTest, FindPagesAScreenfulAtATime) {
  // 14 rows: pages of 11 rows (the header and the prompt take the rest).
  auto tmux = StartConsole(160, 14);
  std::string pane;
  tmux->Type("find");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitForLastLine("-- more (11 shown; Enter for next page, q to stop) --", &pane))
      << pane;
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitForLastLine("-- more (22 shown; Enter for next page, q to stop) --", &pane))
      << pane;
  tmux->Type("q");
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  EXPECT_EQ(pane.find("-- more (22 shown"), std::string::npos) << "the prompt line is erased";

  // Ctrl-C at the pager stops the listing, not the console.
  tmux->Type("find limit 15");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitForLastLine("-- more (11 shown; Enter for next page, q to stop) --", &pane))
      << pane;
  tmux->Keys({"C-c"});
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("count");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("messages match", &pane)) << pane;
}

TEST_F(ConsoleTmuxTest, CtrlCAbandonsTheLineAndErrorsDoNotEndTheShell) {
  auto tmux = StartConsole();
  std::string pane;
  tmux->Type("find outcome = fai");
  tmux->Keys({"C-c"});
  ASSERT_TRUE(tmux->WaitFor("test-host> find outcome = fai^C", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("find chanel = x");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("INVALID_ARGUMENT: filter: unknown field \"chanel\"", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("frobnicate");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("unknown command \"frobnicate\"", &pane)) << pane;
  tmux->Type("count outcome = failed");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("messages match", &pane)) << pane;
}

TEST_F(ConsoleTmuxTest, UnreachableAgentAtStartExitsThree) {
  Tmux tmux(tmux_path_, dir_.path(), 200, 20);
  ASSERT_TRUE(tmux.started()) << tmux.start_error();
  std::string pane;
  ASSERT_TRUE(tmux.WaitForLastLine("sh$", &pane)) << pane;
  std::string address = "127.0.0.1:" + std::to_string(reprise::testing::FreePort());
  tmux.Type(reprise::testing::BinaryPath("reprise") + " --agent " + address + "; echo exit=$?");
  tmux.Keys({"Enter"});
  ASSERT_TRUE(tmux.WaitFor("exit=3", &pane)) << pane;
  EXPECT_NE(pane.find("cannot reach agent at " + address), std::string::npos) << pane;
}

TEST_F(ConsoleTmuxTest, ReflowAsksShowsProgressAndCompletes) {
  testing::TestHost slow({"--no-seed", "--seed-failures", "40", "--fixed", "--handler-delay-ms",
                          "20"});
  ASSERT_FALSE(slow.address().empty());
  auto tmux = StartConsole(160, 40, slow.address());
  std::string pane;
  tmux->Type("reflow direction = in rate 20");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("dry run: 40 messages (5 keys) would be replayed to self", &pane))
      << pane;
  ASSERT_TRUE(tmux->WaitForLastLine("Reflow 40 messages (5 keys) to self? [y/N]", &pane)) << pane;
  tmux->Type("y");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("started job 1: 40 messages to self", &pane)) << pane;
  // The progress line, redrawn in place while the job runs.
  ASSERT_TRUE(tmux->WaitUntil(
      [](const std::string& p) {
        return p.find("job 1  [#") != std::string::npos && p.find("/40") != std::string::npos &&
               p.find("ETA") != std::string::npos;
      },
      &pane))
      << pane;
  ASSERT_TRUE(tmux->WaitFor("job 1 completed: 40 of 40 replayed, 0 failed", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  EXPECT_EQ(pane.find("job 1  [#"), std::string::npos) << "the progress line is replaced";

  // Answering no starts nothing. (The 40 copies are inbound too; the 40
  // originals they resolved are left out.)
  tmux->Type("reflow direction = in");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("40 resolved left out", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine("Reflow 40 messages (5 keys) to self? [y/N]", &pane)) << pane;
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("not started", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("jobs");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("completed", &pane)) << pane;
  EXPECT_EQ(pane.find("\n   2  "), std::string::npos) << pane;
}

TEST_F(ConsoleTmuxTest, MigrateAsksShowsProgressAndCompletes) {
  testing::TestHost ledger({"--ledger"});
  ASSERT_FALSE(ledger.address().empty());
  auto tmux = StartConsole(160, 40, ledger.address());
  std::string pane;
  tmux->Type("migrate ledger.rounding v2 account:1 account:2 since -1h rate 2");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("dry run: 2 keys would move to v2 of ledger.rounding; 6 inbound "
                            "messages since ",
                            &pane))
      << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(
      "Move 2 keys of ledger.rounding to v2 and replay 6 messages? [y/N]", &pane))
      << pane;
  tmux->Type("y");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("2 keys moved to v2", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitFor("started job 1: 6 messages to self", &pane)) << pane;
  // The same live progress line as reflow, replaced by the summary.
  ASSERT_TRUE(tmux->WaitUntil(
      [](const std::string& p) {
        return p.find("job 1  [") != std::string::npos && p.find("/6") != std::string::npos;
      },
      &pane))
      << pane;
  ASSERT_TRUE(tmux->WaitFor("job 1 completed: 6 of 6 replayed, 0 failed", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  EXPECT_EQ(pane.find("job 1  ["), std::string::npos) << "the progress line is replaced";

  // rederive shows its dry run and asks before recording.
  tmux->Type("flow set ledger.rounding account:3=v2");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitForLastLine("Change flow ledger.rounding: account:3 -> v2? [y/N]", &pane))
      << pane;
  tmux->Type("y");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("is now version", &pane)) << pane;
  tmux->Type("rederive balance account:3");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("    balance: \"6.10\" -> \"6.12\"", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine("Record and send 1 changed output? [y/N]", &pane)) << pane;
  tmux->Type("y");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("recorded and sent 1 new output:", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
}

TEST_F(ConsoleTmuxTest, CtrlCDetachesFromAWatchedJob) {
  testing::TestHost slow({"--no-seed", "--seed-failures", "300", "--fixed", "--handler-delay-ms",
                          "20"});
  ASSERT_FALSE(slow.address().empty());
  auto tmux = StartConsole(160, 40, slow.address());
  std::string pane;
  tmux->Type("reflow direction = in rate 10");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitForLastLine("Reflow 300 messages (5 keys) to self? [y/N]", &pane)) << pane;
  tmux->Type("yes");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("job 1  [", &pane)) << pane;
  tmux->Keys({"C-c"});
  ASSERT_TRUE(tmux->WaitFor("detached: job 1 keeps running; re-attach with: watch 1", &pane))
      << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;

  tmux->Type("watch 1");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitUntil(
      [](const std::string& p) {
        size_t nl = p.rfind('\n');
        return p.substr(nl == std::string::npos ? 0 : nl + 1).rfind("job 1  [", 0) == 0;
      },
      &pane))
      << pane;
  tmux->Keys({"C-c"});
  ASSERT_TRUE(tmux->WaitUntil(
      [](const std::string& p) {
        size_t first = p.find("detached: job 1");
        return first != std::string::npos &&
               p.find("detached: job 1", first + 1) != std::string::npos;
      },
      &pane))
      << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  // The shell goes on, and so does the job.
  tmux->Type("jobs");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("running", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("cancel 1");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("Cancel job 1 (running", &pane)) << pane;
  tmux->Type("y");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("job 1 cancel", &pane)) << pane;
}

TEST_F(ConsoleTmuxTest, TabCompletesKnobNamesAndArguments) {
  testing::TestHost flows({"--flows"});
  ASSERT_FALSE(flows.address().empty());
  auto tmux = StartConsole(160, 40, flows.address());
  std::string pane;
  tmux->Type("knob flow.p");
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> knob flow.probe", &pane)) << pane;
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> knob flow.probe keys=", &pane)) << pane;
  tmux->Type("x,y");
  tmux->Keys({"Enter"});
  ASSERT_TRUE(tmux->WaitFor("x=v1,y=v1", &pane)) << pane;
  ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
  tmux->Type("flow show te");
  tmux->Keys({"Tab"});
  ASSERT_TRUE(tmux->WaitForLastLine("test-host> flow show test.flow", &pane)) << pane;
}

// The words of `text` (split at blanks), in order.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// True when `words` appear in `in` in order (others may come between).
bool InOrder(const std::vector<std::string>& words, const std::vector<std::string>& in) {
  size_t at = 0;
  for (const std::string& w : in) {
    if (at < words.size() && w == words[at]) ++at;
  }
  return at == words.size();
}

TEST_F(ConsoleTmuxTest, HelpAndFindFitTheTerminalWidthAndWrapWhatIsLong) {
  CommandRegistry registry;
  RegisterBuiltinCommands(registry);
  for (int width : {80, 160}) {
    SCOPED_TRACE("width " + std::to_string(width));
    auto tmux = StartConsole(width, 150);
    std::string pane;
    // capture-pane -J joins what the terminal wrapped: a line longer than
    // the window would show here as one.
    auto expect_fits = [width](const std::string& text) {
      for (const auto& line : testing::SplitLines(text)) {
        EXPECT_LE(DisplayWidth(line), static_cast<size_t>(width)) << line;
      }
    };
    // On a cleared screen: `command`'s output, up to the next prompt.
    auto run = [&](const std::string& command, const std::string& needle) {
      tmux->Keys({"C-l"});  // readline clears the screen
      ASSERT_TRUE(tmux->WaitUntil([](const std::string& p) { return p == kPrompt; }, &pane)) << pane;
      tmux->Type(command);
      tmux->Keys({"Enter"});
      ASSERT_TRUE(tmux->WaitFor(needle, &pane)) << pane;
      ASSERT_TRUE(tmux->WaitForLastLine(kPrompt, &pane)) << pane;
      expect_fits(pane);
    };
    // The banner fits too; the shell's command line that started the
    // console is ours, and goes.
    ASSERT_TRUE(tmux->WaitFor("Ctrl-D quits.", &pane)) << pane;
    expect_fits(pane.substr(pane.find("\nreprise ") + 1));
    ASSERT_NO_FATAL_FAILURE(run("help", "Type \"help filter\""));
    // Every command's synopsis and summary are all there, word for word.
    const std::vector<std::string> shown = Words(pane);
    for (const auto& c : registry.commands()) {
      EXPECT_TRUE(InOrder(Words(c.summary), shown)) << c.name << ": " << c.summary << "\n" << pane;
      EXPECT_TRUE(InOrder(Words(c.name + " " + c.synopsis), shown)) << c.name << "\n" << pane;
    }
    if (width == 80) {
      EXPECT_EQ(pane.find("  reflow FILTER [to self|downstream] [rate N] [concurrency N]"), std::string::npos)
          << "the long synopsis wraps under its column\n" << pane;
    }

    ASSERT_NO_FATAL_FAILURE(run("find outcome = failed", "boom"));
    // The errors, whole, under their column.
    auto errors = testing::LastColumnCells(pane, "error", kPrompt);
    ASSERT_FALSE(errors.empty()) << pane;
    size_t handler_errors = 0;
    for (const std::string& e : errors) {
      const std::string s = testing::Squeezed(e);
      if (s == testing::Squeezed("handler for payments.received threw: boom: the handler threw")) ++handler_errors;
      else if (s != testing::Squeezed("downstream timeout after 5s") &&
               s != testing::Squeezed("invalid amount \"bad\": expected a decimal number")) {
        ADD_FAILURE() << "unexpected or cut error \"" << e << "\"\n" << pane;
      }
    }
    EXPECT_GT(handler_errors, 0u) << pane;
  }
}

}  // namespace
}  // namespace reprise::console
