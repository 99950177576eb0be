// The fleet's registry in the PostgreSQL journal (table instances, schema v5).
// Same semantics as sqlite/instances.cc.
#include "postgres/journal.h"
#include "reprise/store/instance.h"

namespace reprise {
namespace {

using namespace pg;  // NOLINT: this file is the journal's PostgreSQL code

// ListInstances's query: instances of service $1 ("" for every service),
// gone ones too when $2, live first, then by service and id.
StatusOr<std::vector<InstanceRecord>> ListWith(Conn& c, std::string_view service, bool include_gone) {
  Params p;
  p.Text(service);
  p.Text(include_gone ? "true" : "false");
  REPRISE_ASSIGN_OR_RETURN(
      auto r, c.Exec("SELECT id, service, host, pid, address, agent_version, api_version, started_at, "
                     "heartbeat_at, state, gone_reason FROM instances WHERE ($1 = '' OR service = $1) "
                     "AND ($2::boolean OR state = 1) ORDER BY state, service, id",
                     p, "list instances"));
  std::vector<InstanceRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    InstanceRecord rec;
    rec.id = r.text(i, 0);
    rec.service = r.text(i, 1);
    rec.host = r.text(i, 2);
    rec.pid = r.integer(i, 3);
    rec.address = r.text(i, 4);
    rec.agent_version = r.text(i, 5);
    rec.api_version = r.text(i, 6);
    rec.started_at_us = r.integer(i, 7);
    rec.heartbeat_at_us = r.integer(i, 8);
    rec.state = r.integer(i, 9) == 2 ? InstanceState::kGone : InstanceState::kLive;
    rec.gone_reason = r.text(i, 10);
    out.push_back(std::move(rec));
  }
  return out;
}

class PgInstanceStore final : public InstanceStore {
 public:
  explicit PgInstanceStore(Pool* pool) : pool_(pool) {}

  Status Register(const InstanceRecord& in) override {
    const int64_t now = NowUs();
    Params p;
    p.Text(in.id);
    p.Text(in.service);
    p.Text(in.host);
    p.Int(in.pid);
    p.OptionalText(in.address);
    p.OptionalText(in.agent_version);
    p.OptionalText(in.api_version);
    p.Int(in.started_at_us ? in.started_at_us : now);
    p.Int(now);
    return Run(
        "INSERT INTO instances (id, service, host, pid, address, agent_version, api_version, "
        "started_at, heartbeat_at, state, gone_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, NULL) "
        "ON CONFLICT (id) DO UPDATE SET service = excluded.service, host = excluded.host, "
        "pid = excluded.pid, address = excluded.address, agent_version = excluded.agent_version, "
        "api_version = excluded.api_version, started_at = excluded.started_at, "
        "heartbeat_at = excluded.heartbeat_at, state = 1, gone_reason = NULL",
        p, "register instance")
        .status();
  }

  Status Heartbeat(std::string_view id) override {
    Params p;
    p.Text(id);
    p.Int(NowUs());
    REPRISE_ASSIGN_OR_RETURN(
        auto r, Run("UPDATE instances SET heartbeat_at = $2, state = 1, gone_reason = NULL WHERE id = $1", p,
                    "heartbeat"));
    if (r.changed() == 0) return NotFound("instance " + std::string(id) + " is not registered in this journal");
    return Status::Ok();
  }

  Status MarkGone(std::string_view id, std::string_view reason) override {
    Params p;
    p.Text(id);
    p.OptionalText(reason);
    return Run("UPDATE instances SET state = 2, gone_reason = $2 WHERE id = $1", p, "mark instance gone").status();
  }

  StatusOr<uint64_t> ExpireStale(std::chrono::microseconds timeout) override {
    Params p;
    p.Int(NowUs() - timeout.count());
    p.Text("no heartbeat for " + std::to_string(timeout.count() / 1000) + " ms");
    REPRISE_ASSIGN_OR_RETURN(
        auto r, Run("UPDATE instances SET state = 2, gone_reason = $2 WHERE state = 1 AND heartbeat_at < $1",
                    p, "expire instances"));
    return static_cast<uint64_t>(r.changed());
  }

  StatusOr<std::vector<InstanceRecord>> ListInstances(std::string_view service, bool include_gone) override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    return ListWith(c, service, include_gone);
  }

 private:
  StatusOr<Result> Run(std::string_view sql, const Params& p, std::string_view what) {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    return c.Exec(sql, p, what);
  }

  Pool* const pool_;
};

}  // namespace

std::unique_ptr<InstanceStore> NewPgInstanceStore(Pool* pool) { return std::make_unique<PgInstanceStore>(pool); }

StatusOr<std::vector<InstanceRecord>> ReadPgLiveInstances(const JournalUrl& url, std::string_view service) {
  // A pool of its own for one read; libpq's words in the messages, as the
  // console shows them.
  Pool pool(url.libpq, url.display);
  auto c = pool.Borrow();
  if (!c.ok()) return Unavailable("cannot connect to the journal: " + pool.last_error());
  auto live = ListWith(*c, service, /*include_gone=*/false);
  if (!live.ok()) return Unavailable("reading the instance registry: " + ErrorText(c->get(), nullptr));
  return live;
}

}  // namespace reprise
