#include "support/rabbitmq_server.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "support/test_env.h"

namespace reprise::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";
constexpr const char* kCtl = "/usr/lib/rabbitmq/bin/rabbitmqctl";

bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// The pid of the epmd that listens on `port` (it inherited ERL_EPMD_PORT
// from our broker), or -1.
pid_t FindEpmd(int port) {
  const std::string want = "ERL_EPMD_PORT=" + std::to_string(port);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c != "epmd") continue;
    std::ifstream env(entry.path() / "environ");
    std::stringstream ss;
    ss << env.rdbuf();
    std::string e = ss.str();
    for (size_t at = 0; at < e.size();) {
      const size_t end = e.find('\0', at);
      if (e.compare(at, (end == std::string::npos ? e.size() : end) - at, want) == 0) return std::stoi(name);
      if (end == std::string::npos) break;
      at = end + 1;
    }
  }
  return -1;
}

std::mutex g_mu;
RabbitServer* g_server = nullptr;  // guarded by g_mu

}  // namespace

StatusOr<RabbitServer*> RabbitServer::Shared() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_server != nullptr) return g_server;
  std::unique_ptr<RabbitServer> s(new RabbitServer());
  Status st = s->Init();
  if (!st.ok()) return st;
  g_server = s.release();
  std::atexit([] {
    std::lock_guard<std::mutex> l(g_mu);
    delete g_server;
    g_server = nullptr;
  });
  return g_server;
}

std::string RabbitServer::url() const { return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/"; }

std::vector<std::string> RabbitServer::Env() const {
  return {"HOME=" + dir_,
          "RABBITMQ_MNESIA_BASE=" + dir_ + "/mnesia",
          "RABBITMQ_LOG_BASE=" + dir_ + "/log",
          "RABBITMQ_PID_FILE=" + dir_ + "/rabbitmq.pid",
          "RABBITMQ_NODENAME=" + node_,
          "RABBITMQ_NODE_PORT=" + std::to_string(port_),
          "RABBITMQ_DIST_PORT=" + std::to_string(port_ + 20000 > 65000 ? port_ - 20000 : port_ + 20000),
          "RABBITMQ_CONFIG_FILE=" + dir_ + "/rabbitmq",
          "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir_ + "/enabled_plugins",
          "ERL_EPMD_PORT=" + std::to_string(epmd_port_)};
}

Status RabbitServer::Init() {
  if (!fs::exists(kServer)) {
    return FailedPrecondition(std::string("RabbitMQ is not installed (no ") + kServer +
                              "); the AMQP tests need it: run ./dev deps (apt-get install rabbitmq-server)");
  }
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/reprise-rabbit-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return Internal("mkdtemp " + pattern + " failed");
  dir_ = buf.data();
  port_ = FreePort();
  epmd_port_ = FreePort();
  node_ = "reprise" + std::to_string(getpid()) + "x" + std::to_string(port_) + "@localhost";
  std::ofstream(dir_ + "/rabbitmq.conf") << "listeners.tcp.default = 127.0.0.1:" << port_ << "\n"
                                         << "loopback_users = none\n";
  std::ofstream(dir_ + "/enabled_plugins") << "[].\n";

  std::vector<std::string> env = Env();
  pid_ = fork();
  if (pid_ < 0) return Internal(std::string("fork failed: ") + std::strerror(errno));
  if (pid_ == 0) {
    setsid();  // its Erlang children go with the group
    int log = open((dir_ + "/server.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    for (const std::string& e : env) putenv(strdup(e.c_str()));
    execl(kServer, kServer, static_cast<char*>(nullptr));
    _exit(127);
  }
  if (Status st = WaitForPort(true, 120); !st.ok()) {
    std::ifstream log(dir_ + "/server.out");
    std::stringstream ss;
    ss << log.rdbuf();
    std::string tail = ss.str();
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
    return st.WithPrefix("RabbitMQ did not start; its output ends with:\n" + tail + "\n");
  }
  return Status::Ok();
}

Status RabbitServer::WaitForPort(bool up, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PortOpen(port_) == up) return Status::Ok();
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable("the broker exited");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceeded(std::string("port ") + std::to_string(port_) + (up ? " did not open" : " did not close") +
                          " within " + std::to_string(seconds) + " s");
}

StatusOr<std::string> RabbitServer::Ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kCtl, "-n", node_};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, "", Env(), std::chrono::seconds(60));
  if (r.exit_code != 0) {
    return Internal("rabbitmqctl " + (args.empty() ? "" : args[0]) + " failed (exit " +
                    std::to_string(r.exit_code) + "): " + r.err + r.out);
  }
  return r.out;
}

Status RabbitServer::StopApp() {
  REPRISE_RETURN_IF_ERROR(Ctl({"stop_app"}).status());
  return WaitForPort(false, 30);
}

Status RabbitServer::StartApp() {
  REPRISE_RETURN_IF_ERROR(Ctl({"start_app"}).status());
  return WaitForPort(true, 60);
}

StatusOr<int64_t> RabbitServer::QueueDepth(const std::string& queue) {
  // A passive queue.declare: rabbitmqctl starts an Erlang VM per call (seconds).
  amqp_connection_state_t c = amqp_new_connection();
  std::unique_ptr<amqp_connection_state_t_, int (*)(amqp_connection_state_t)> owned(c, amqp_destroy_connection);
  amqp_socket_t* socket = amqp_tcp_socket_new(c);
  if (amqp_socket_open(socket, "127.0.0.1", port_) != AMQP_STATUS_OK) {
    return Unavailable("cannot connect to the broker on port " + std::to_string(port_));
  }
  if (amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL) {
    return Unavailable("cannot log in to the broker");
  }
  amqp_channel_open(c, 1);
  amqp_queue_declare_ok_t* ok = amqp_queue_declare(c, 1, amqp_cstring_bytes(queue.c_str()), /*passive=*/1, 0, 0, 0,
                                                   amqp_empty_table);
  const int64_t depth = ok != nullptr ? static_cast<int64_t>(ok->message_count) : -1;
  if (ok != nullptr) amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  return depth;
}

RabbitServer::~RabbitServer() {
  if (pid_ > 0) {
    (void)Ctl({"stop"});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (waitpid(pid_, nullptr, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, WNOHANG);
  }
  if (pid_t epmd = FindEpmd(epmd_port_); epmd > 0) kill(epmd, SIGKILL);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

}  // namespace reprise::testing
