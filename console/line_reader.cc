#include "reprise/console/line_reader.h"

// readline.h needs stdio declared first.
#include <cstdio>

#include <fcntl.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace reprise::console {
namespace {

// Readline calls plain C functions, so the active reader's state lives here.
// Only one ReadlineLineReader exists at a time (see its class comment).
CompletionFunction* g_complete = nullptr;
bool g_line_done = false;
std::optional<std::string> g_line;
volatile sig_atomic_t g_sigint = 0;
volatile sig_atomic_t g_sigwinch = 0;
struct sigaction g_old_sigint, g_old_sigwinch;
// Self-pipe: a signal may be delivered to any thread (gRPC has its own), so
// the handler wakes the poll() in ReadLine through this pipe rather than
// relying on EINTR in the main thread.
int g_wake[2] = {-1, -1};

void Wake() {
  if (g_wake[1] >= 0) {
    int saved = errno;
    [[maybe_unused]] ssize_t n = write(g_wake[1], "x", 1);
    errno = saved;
  }
}
void OnSigint(int) {
  g_sigint = 1;
  Wake();
}
void OnSigwinch(int) {
  g_sigwinch = 1;
  Wake();
}

void OnLine(char* line) {
  // Removing the handler here (not after the loop) stops readline from
  // printing a fresh prompt before the command has even run.
  rl_callback_handler_remove();
  g_line_done = true;
  if (line == nullptr) {
    g_line.reset();
  } else {
    g_line = std::string(line);
    std::free(line);
  }
}

char* Dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p != nullptr) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

char** AttemptCompletion(const char* text, int, int end) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  if (g_complete == nullptr) return nullptr;
  Completion c = (*g_complete)(std::string_view(rl_line_buffer, static_cast<size_t>(end)));
  if (c.candidates.empty()) return nullptr;
  rl_completion_append_character = c.append_space ? ' ' : '\0';
  // matches[0] replaces the word: the candidates' longest common prefix,
  // but never something that would delete what was typed.
  std::string common = c.candidates[0];
  for (const auto& cand : c.candidates) {
    size_t k = 0;
    while (k < common.size() && k < cand.size() && common[k] == cand[k]) ++k;
    common.resize(k);
  }
  std::string_view word(text);
  bool keeps_word = common.compare(0, word.size(), word) == 0 ||
                    (!common.empty() && common[0] == '"' && common.compare(1, word.size(), word) == 0);
  if (!keeps_word) common = std::string(word);
  size_t n = c.candidates.size();
  char** matches = static_cast<char**>(std::calloc(n + 2, sizeof(char*)));
  if (matches == nullptr) return nullptr;
  if (n == 1) {
    matches[0] = Dup(c.candidates[0]);
    return matches;
  }
  matches[0] = Dup(common);
  for (size_t i = 0; i < n; ++i) matches[i + 1] = Dup(c.candidates[i]);
  return matches;
}

void Install(int signo, void (*handler)(int), struct sigaction* old) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() must wake up
  sigaction(signo, &sa, old);
}

}  // namespace

std::optional<std::string> ReadCommand(LineReader& reader, const std::string& prompt,
                                       const std::string& continuation_prompt) {
  auto line = reader.ReadLine(prompt);
  if (!line) return std::nullopt;
  std::string command = *line;
  while (NeedsContinuation(command)) {
    if (!command.empty() && command.back() == '\\') command.pop_back();
    auto more = reader.ReadLine(continuation_prompt);
    if (!more) break;
    if (reader.interrupted()) return std::string();
    // One line for the history file and for the agent: joined with a space.
    command += " " + *more;
  }
  return command;
}

std::optional<std::string> StreamLineReader::ReadLine(const std::string&) {
  std::string line;
  if (!std::getline(in_, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

ReadlineLineReader::ReadlineLineReader(std::string history_path, CompletionFunction complete)
    : history_path_(std::move(history_path)), complete_(std::move(complete)) {
  g_complete = &complete_;
  rl_readline_name = "reprise";  // for $if reprise in ~/.inputrc
  rl_attempted_completion_function = AttemptCompletion;
  rl_completer_word_break_characters = kCompletionWordBreaks;
  rl_basic_word_break_characters = kCompletionWordBreaks;
  // We handle signals ourselves (see ReadLine) and keep $COLUMNS untouched.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  rl_change_environment = 0;
  Install(SIGINT, OnSigint, &g_old_sigint);
  Install(SIGWINCH, OnSigwinch, &g_old_sigwinch);
  if (g_wake[0] < 0 && pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) g_wake[0] = g_wake[1] = -1;
  using_history();
  if (!history_path_.empty()) {
    int fd = open(history_path_.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    read_history(history_path_.c_str());
  }
}

ReadlineLineReader::~ReadlineLineReader() {
  if (!history_path_.empty()) history_truncate_file(history_path_.c_str(), 1000);
  sigaction(SIGINT, &g_old_sigint, nullptr);
  sigaction(SIGWINCH, &g_old_sigwinch, nullptr);
  for (int& fd : g_wake) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  g_complete = nullptr;
}

std::optional<std::string> ReadlineLineReader::ReadLine(const std::string& prompt) {
  interrupted_ = false;
  g_line_done = false;
  g_line.reset();
  g_sigint = 0;
  rl_callback_handler_install(prompt.c_str(), OnLine);
  while (!g_line_done) {
    pollfd p[2] = {{fileno(rl_instream != nullptr ? rl_instream : stdin), POLLIN, 0},
                   {g_wake[0], POLLIN, 0}};
    int r = poll(p, g_wake[0] >= 0 ? 2 : 1, -1);
    if ((r < 0 && errno != EINTR) || (r > 0 && (p[0].revents & POLLNVAL) != 0)) {
      rl_callback_handler_remove();
      return std::nullopt;
    }
    if (r > 0 && (p[1].revents & POLLIN) != 0) {
      char drain[64];
      while (read(g_wake[0], drain, sizeof drain) > 0) {
      }
    }
    if (g_sigwinch) {
      g_sigwinch = 0;
      rl_resize_terminal();
    }
    if (g_sigint) {
      // Ctrl-C abandons the line, as in a shell; the console keeps running.
      // Show "^C" after the text, then leave that line as it is.
      g_sigint = 0;
      rl_point = rl_end;
      rl_redisplay();
      FILE* out = rl_outstream != nullptr ? rl_outstream : stdout;
      std::fputs("^C\n", out);
      std::fflush(out);
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_replace_line("", 0);
      rl_callback_handler_remove();
      using_history();
      interrupted_ = true;
      return std::string();
    }
    if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) rl_callback_read_char();
  }
  return g_line;
}

void ReadlineLineReader::AddHistory(const std::string& entry) {
  if (entry.find_first_not_of(" \t") == std::string::npos) return;
  HIST_ENTRY* last = history_length > 0 ? history_get(history_base + history_length - 1) : nullptr;
  if (last == nullptr || entry != last->line) {
    add_history(entry.c_str());
    // Append right away so that history survives a crash or kill, and two
    // consoles running at once both keep theirs.
    if (!history_path_.empty()) append_history(1, history_path_.c_str());
  }
  using_history();
}

std::string DefaultHistoryPath() {
  const char* env = std::getenv("REPRISE_HISTORY");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return std::string(home) + "/.reprise_history";
}

}  // namespace reprise::console
