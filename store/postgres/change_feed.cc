// LISTEN/NOTIFY change feed of the PostgreSQL journal. The stores send the
// notifications in the transactions that make the changes (postgres/flows.cc,
// postgres/jobs.cc), so a listener hears of a change only once it is committed.
// The payload is the journal's schema: several journals may share a
// database (one per schema) and NOTIFY channels are per database.
#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "postgres/journal.h"

namespace reprise {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
// How often the listening thread checks whether the feed is being stopped.
constexpr int kWakeEveryMs = 100;

class PgChangeFeed final : public ChangeFeed {
 public:
  explicit PgChangeFeed(std::string url) : url_(std::move(url)) {}
  ~PgChangeFeed() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Start(Callback on_change) override {
    if (thread_.joinable()) return;
    thread_ = std::thread([this, cb = std::move(on_change)] { Listen(cb); });
  }

  bool connected() const override { return connected_; }

 private:
  bool Stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  // Sleeps `d` unless the feed is stopped first; returns whether it is.
  bool WaitOrStop(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, d, [this] { return stopping_; });
  }

  // A listening connection, or null when the server cannot be reached.
  PGconn* Connect(std::string* schema) {
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"5", "reprise-listen", url_.c_str(), nullptr};
    PGconn* c = PQconnectdbParams(keys, values, 1);
    if (c == nullptr) return nullptr;
    auto ok = [](PGresult* r, ExecStatusType want) {
      bool good = r != nullptr && PQresultStatus(r) == want;
      if (good && want == PGRES_TUPLES_OK && PQntuples(r) == 0) good = false;
      return good;
    };
    if (PQstatus(c) == CONNECTION_OK) {
      PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
      PGresult* r = PQexec(c, "SELECT current_schema()");
      bool good = ok(r, PGRES_TUPLES_OK);
      if (good) *schema = PQgetvalue(r, 0, 0);
      PQclear(r);
      if (good) {
        r = PQexec(c, "LISTEN reprise_flows; LISTEN reprise_jobs");
        good = ok(r, PGRES_COMMAND_OK);
        PQclear(r);
      }
      if (good) return c;
    }
    PQfinish(c);
    return nullptr;
  }

  void Listen(const Callback& cb) {
    auto backoff = kFirstBackoff;
    while (!Stopping()) {
      std::string schema;
      PGconn* c = Connect(&schema);
      if (c == nullptr) {
        if (WaitOrStop(backoff)) return;
        backoff = std::min(backoff * 2, kMaxBackoff);
        continue;
      }
      backoff = kFirstBackoff;
      connected_ = true;
      // Whatever changed while nobody listened was not heard: check it all.
      cb(ChangeTopic::kFlows);
      cb(ChangeTopic::kJobs);
      while (!Stopping()) {
        pollfd pfd{.fd = PQsocket(c), .events = POLLIN, .revents = 0};
        if (pfd.fd < 0) break;
        int n = poll(&pfd, 1, kWakeEveryMs);
        if (n < 0 && errno != EINTR) break;
        if (n <= 0) continue;
        if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) break;  // connection lost
        while (PGnotify* note = PQnotifies(c)) {
          if (schema == note->extra) {
            cb(std::string_view(note->relname) == "reprise_flows" ? ChangeTopic::kFlows
                                                                 : ChangeTopic::kJobs);
          }
          PQfreemem(note);
        }
      }
      connected_ = false;
      PQfinish(c);
    }
  }

  const std::string url_;
  std::atomic<bool> connected_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace

Status NotifyChange(pg::Conn& c, std::string_view channel) {
  pg::Params p;
  p.Text(channel);
  return c.Exec("SELECT pg_notify($1, current_schema())", p, "notify change").status();
}

std::unique_ptr<ChangeFeed> NewPgChangeFeed(std::string libpq_url) {
  return std::make_unique<PgChangeFeed>(std::move(libpq_url));
}

}  // namespace reprise
