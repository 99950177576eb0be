// Shared helpers for tests: temporary directories, child processes, paths of
// the binaries under test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace reprise::testing {

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Commits what a process killed in `process` durability left in the intent
// log of the SQLite journal at `journal_path` (its default log), as the next
// Agent::Start would; "" or what went wrong.
std::string RecoverIntentLog(const std::string& journal_path);

// Path of a binary built by this project, e.g. BinaryPath("reprise-demo").
std::string BinaryPath(const std::string& name);

// A child process with stdin/stdout/stderr pipes. Killed (SIGKILL) and reaped
// on destruction if still running.
class Subprocess {
 public:
  // Starts argv[0] with the given arguments; extra environment entries
  // ("NAME=value") are added to the current environment.
  static std::optional<Subprocess> Start(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env = {});
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Reads one line of stdout (without the newline); nullopt on EOF or timeout.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Reads stdout until a line containing `needle`; returns that line.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);
  bool WriteStdin(const std::string& data);
  void CloseStdin();
  // Sends `signal` and waits for exit; returns the wait status.
  int Kill(int signal);
  // Waits for exit; returns the exit code, or -1 on timeout/signal.
  int Wait(std::chrono::milliseconds timeout);
  // Everything read from stdout so far that was not returned as a line, plus
  // the rest until EOF (waits for exit).
  std::string ReadAll(std::chrono::milliseconds timeout);
  std::string ReadAllStderr(std::chrono::milliseconds timeout);

 private:
  Subprocess() = default;
  pid_t pid_ = -1;
  int stdin_fd_ = -1, stdout_fd_ = -1, stderr_fd_ = -1;
  std::string buffer_;
  bool exited_ = false;
  int wait_status_ = 0;
};

// Result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         const std::vector<std::string>& env = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A free TCP port on 127.0.0.1 (best effort: bind to 0 and release).
int FreePort();

}  // namespace reprise::testing
