#include "support/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <functional>

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

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
constexpr int kPort = 5432;  // only names the socket file: nothing listens on TCP

// The server's user: `postgres` under root (PostgreSQL refuses root), else ourselves.
struct ServerUser {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

StatusOr<ServerUser> FindServerUser() {
  ServerUser u;
  if (geteuid() != 0) return u;
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return FailedPrecondition(
        "tests run as root but there is no `postgres` system user to run PostgreSQL as; "
        "install the postgresql package (./dev deps)");
  }
  u.switch_user = true;
  u.uid = pw->pw_uid;
  u.gid = pw->pw_gid;
  return u;
}

std::string Tail(const std::string& path, size_t max = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? s.substr(s.size() - max) : s;
}

Status Chown(const std::string& path, const ServerUser& u) {
  if (!u.switch_user) return Status::Ok();
  if (chown(path.c_str(), u.uid, u.gid) != 0) {
    return Internal("chown " + path + " to the postgres user failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

// initdb once per build tree; later servers copy the result. A lock file
// keeps parallel test processes from racing on the first initdb.
// It lives in the system's temp dir, not the build tree: the server's user
// must reach it, and a build tree may sit under a directory only its owner
// can enter (mktemp -d makes those).
StatusOr<std::string> TemplateCluster(const ServerUser& u) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = std::string(tmp && *tmp ? tmp : "/tmp") + "/reprise-pg-template-" +
                           std::to_string(getuid()) + "-" +
                           std::to_string(std::hash<std::string>{}(REPRISE_BINARY_DIR));
  const std::string data = base + "/data";
  const std::string lock_path = base + ".lock";
  int lock = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0) return Internal("cannot open " + lock_path + ": " + std::strerror(errno));
  flock(lock, LOCK_EX);
  std::unique_ptr<int, void (*)(int*)> unlock(&lock, [](int* fd) { close(*fd); });
  if (fs::exists(data + "/PG_VERSION") && fs::exists(base + "/ready")) return data;

  std::error_code ec;
  fs::remove_all(base, ec);
  fs::create_directories(base, ec);
  if (ec) return Internal("cannot create " + base + ": " + ec.message());
  // The server's user must reach the directory it writes into.
  chmod(base.c_str(), 0755);
  REPRISE_RETURN_IF_ERROR(Chown(base, u));
  std::vector<std::string> argv;
  // From "/": initdb looks up its own directory and fails in a working
  // directory its user cannot enter.
  if (u.switch_user) argv = {"/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/env", "-C", "/"};
  for (std::string a : {std::string(kBinDir) + "/initdb", std::string("-D"), data,
                        std::string("-A"), std::string("trust"), std::string("-U"),
                        std::string("postgres"), std::string("-E"), std::string("UTF8"),
                        std::string("--locale=C"), std::string("--no-sync")}) {
    argv.push_back(a);
  }
  CommandResult r = RunCommand(argv, "", {}, std::chrono::seconds(120));
  if (r.exit_code != 0) {
    return FailedPrecondition("initdb failed (exit " + std::to_string(r.exit_code) + "): " +
                              r.err + r.out);
  }
  std::ofstream(base + "/ready") << "ok\n";
  return data;
}

std::string ConnString(const std::string& socket_dir, const std::string& database) {
  return "postgresql:///" + database + "?host=" + socket_dir + "&port=" + std::to_string(kPort) +
         "&user=postgres";
}

std::mutex g_mu;
PostgresServer* g_server = nullptr;  // guarded by g_mu

}  // namespace

StatusOr<PostgresServer*> PostgresServer::Shared() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_server != nullptr) return g_server;
  std::unique_ptr<PostgresServer> s(new PostgresServer());
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

Status PostgresServer::Init() {
  if (!fs::exists(std::string(kBinDir) + "/postgres")) {
    return FailedPrecondition(std::string("PostgreSQL 15 is not installed (no ") + kBinDir +
                              "/postgres); the PostgreSQL tests need it: run ./dev deps "
                              "(apt-get install postgresql)");
  }
  REPRISE_ASSIGN_OR_RETURN(auto user, FindServerUser());
  REPRISE_ASSIGN_OR_RETURN(auto tmpl, TemplateCluster(user));

  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/reprise-pg-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return Internal("mkdtemp " + pattern + " failed");
  dir_ = buf.data();
  // The server's user passes through dir_ into run/, which it owns.
  chmod(dir_.c_str(), 0711);
  run_dir_ = dir_ + "/run";
  std::error_code ec;
  fs::create_directory(run_dir_, ec);
  if (ec) return Internal("cannot create " + run_dir_ + ": " + ec.message());
  chmod(run_dir_.c_str(), 0700);
  REPRISE_RETURN_IF_ERROR(Chown(run_dir_, user));
  CommandResult cp = RunCommand({"/bin/cp", "-a", tmpl, run_dir_ + "/data"});
  if (cp.exit_code != 0) return Internal("copying the template cluster failed: " + cp.err);
  return Start();
}

Status PostgresServer::Start() {
  if (pid_ > 0) return Status::Ok();
  REPRISE_ASSIGN_OR_RETURN(auto user, FindServerUser());
  const std::string log = run_dir_ + "/postgres.log";
  const std::string bin = std::string(kBinDir) + "/postgres";
  const std::string port = std::to_string(kPort);
  // fsync off: the tests' servers die with their data; speed matters more.
  std::vector<std::string> args = {bin, "-D", run_dir_ + "/data", "-p", port, "-k", run_dir_,
                                   "-c", "listen_addresses=", "-c", "fsync=off",
                                   "-c", "full_page_writes=off", "-c", "max_connections=100",
                                   "-c", "shared_buffers=16MB"};
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Internal(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    setsid();
    if (user.switch_user) {
      if (fd >= 0 && fchown(fd, user.uid, user.gid) != 0) _exit(126);
      if (setgroups(0, nullptr) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) _exit(126);
    }
    // Set after changing user (which clears it): if the test process dies
    // without stopping the server, the server shuts down by itself.
    prctl(PR_SET_PDEATHSIG, SIGINT);
    if (getppid() != parent) _exit(125);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  pid_ = pid;
  const std::string url = ConnString(run_dir_, "postgres");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Internal("the PostgreSQL server exited during start-up; its log (" + log +
                      "):\n" + Tail(log));
    }
    if (PQping(url.c_str()) == PQPING_OK) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (void)Stop();
  return DeadlineExceeded("the PostgreSQL server did not accept connections within 60 s; its log:\n" +
                          Tail(log));
}

Status PostgresServer::Stop() {
  if (pid_ <= 0) return Status::Ok();
  kill(pid_, SIGINT);  // fast shutdown: roll back and disconnect clients
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return Status::Ok();
}

PostgresServer::~PostgresServer() {
  (void)Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

StatusOr<std::string> PostgresServer::Query(const std::string& database, const std::string& sql) {
  const std::string url = ConnString(run_dir_, database);
  PGconn* c = PQconnectdb(url.c_str());
  std::unique_ptr<PGconn, void (*)(PGconn*)> conn(c, PQfinish);
  if (PQstatus(c) != CONNECTION_OK) {
    return Unavailable("cannot connect to the test PostgreSQL server: " + std::string(PQerrorMessage(c)));
  }
  PGresult* r = PQexec(c, sql.c_str());
  std::unique_ptr<PGresult, void (*)(PGresult*)> res(r, PQclear);
  ExecStatusType es = PQresultStatus(r);
  if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
    return Internal("test PostgreSQL server: " + sql + ": " + PQresultErrorMessage(r));
  }
  if (es == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) return std::string(PQgetvalue(r, 0, 0));
  return std::string();
}

StatusOr<std::string> PostgresServer::NewJournalUrl() {
  std::string schema;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    schema = "test_" + std::to_string(++next_schema_);
  }
  REPRISE_ASSIGN_OR_RETURN(auto r, Query("postgres", "CREATE SCHEMA " + schema));
  // libpq's `options` sets the search path: the journal's tables live there.
  return ConnString(run_dir_, "postgres") + "&options=-csearch_path%3D" + schema;
}

StatusOr<std::string> PostgresServer::NewDatabaseUrl() {
  std::string db;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    db = "test_db_" + std::to_string(++next_schema_);
  }
  REPRISE_ASSIGN_OR_RETURN(auto r, Query("postgres", "CREATE DATABASE " + db + " TEMPLATE template0"));
  return ConnString(run_dir_, db);
}

}  // namespace reprise::testing
