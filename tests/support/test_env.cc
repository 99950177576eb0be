#include "support/test_env.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "reprise/store/journal.h"
#include "reprise/store/recorder.h"

extern char** environ;

namespace reprise::testing {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/reprise-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string BinaryPath(const std::string& name) {
  // Binaries are spread over the build tree (agent/, console/, tests/).
  for (const char* sub : {"agent", "console", "tests", ""}) {
    fs::path p = fs::path(REPRISE_BINARY_DIR) / sub / name;
    if (fs::exists(p)) return p.string();
  }
  return (fs::path(REPRISE_BINARY_DIR) / name).string();
}

std::optional<Subprocess> Subprocess::Start(const std::vector<std::string>& argv,
                                            const std::vector<std::string>& env) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
  for (const auto& e : env) env_storage.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    setpgid(0, 0);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  Subprocess p;
  p.pid_ = pid;
  p.stdin_fd_ = in[1];
  p.stdout_fd_ = out[0];
  p.stderr_fd_ = err[0];
  return p;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_), stdin_fd_(o.stdin_fd_), stdout_fd_(o.stdout_fd_), stderr_fd_(o.stderr_fd_),
      buffer_(std::move(o.buffer_)), exited_(o.exited_), wait_status_(o.wait_status_) {
  o.pid_ = -1;
  o.stdin_fd_ = o.stdout_fd_ = o.stderr_fd_ = -1;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    waitpid(pid_, &wait_status_, 0);
  }
  for (int fd : {stdin_fd_, stdout_fd_, stderr_fd_}) {
    if (fd >= 0) close(fd);
  }
}

namespace {
// Reads what is available from fd into buf within the deadline; false on EOF.
bool ReadSome(int fd, std::string& buf, Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() < 0) left = std::chrono::milliseconds(0);
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(left.count()));
  if (r <= 0) return true;  // timeout: not EOF
  char tmp[4096];
  ssize_t n = read(fd, tmp, sizeof tmp);
  if (n <= 0) return false;
  buf.append(tmp, static_cast<size_t>(n));
  return true;
}
}  // namespace

std::optional<std::string> Subprocess::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    if (!ReadSome(stdout_fd_, buffer_, deadline)) return std::nullopt;
  }
}

std::optional<std::string> Subprocess::WaitForLine(const std::string& needle,
                                                   std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto line = ReadLine(left);
    if (!line) return std::nullopt;
    if (line->find(needle) != std::string::npos) return line;
  }
  return std::nullopt;
}

bool Subprocess::WriteStdin(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(stdin_fd_, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

void Subprocess::CloseStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

int Subprocess::Kill(int signal) {
  if (exited_) return wait_status_;
  ::kill(pid_, signal);
  waitpid(pid_, &wait_status_, 0);
  exited_ = true;
  return wait_status_;
}

int Subprocess::Wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!exited_) {
    pid_t r = waitpid(pid_, &wait_status_, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      break;
    }
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : -1;
}

std::string Subprocess::ReadAll(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && ReadSome(stdout_fd_, buffer_, deadline)) {
  }
  std::string all = std::move(buffer_);
  buffer_.clear();
  return all;
}

std::string Subprocess::ReadAllStderr(std::chrono::milliseconds timeout) {
  std::string err;
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline && ReadSome(stderr_fd_, err, deadline)) {
  }
  return err;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data,
                         const std::vector<std::string>& env,
                         std::chrono::milliseconds timeout) {
  CommandResult result;
  auto p = Subprocess::Start(argv, env);
  if (!p) return result;
  p->WriteStdin(stdin_data);
  p->CloseStdin();
  // Read both pipes concurrently so a chatty child cannot block on a full pipe.
  std::string err;
  std::thread t([&] { err = p->ReadAllStderr(timeout); });
  result.out = p->ReadAll(timeout);
  t.join();
  result.err = std::move(err);
  result.exit_code = p->Wait(std::chrono::seconds(5));
  return result;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string RecoverIntentLog(const std::string& journal_path) {
  auto journal = Journal::Open("sqlite:" + journal_path);
  if (!journal.ok()) return journal.status().ToString();
  Recorder recorder(journal->get(), {.durability = RecorderOptions::Durability::kProcess,
                                     .intent_log = journal_path + ".intent"});
  return recorder.Stats().last_error;
}

}  // namespace reprise::testing
