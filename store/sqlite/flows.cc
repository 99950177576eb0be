#include "sqlite/flows.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "flow_rules.h"
#include "sqlite/util.h"

namespace reprise {
namespace {

using namespace sqlite;  // NOLINT: this file is the journal's SQLite code

using flow_rules::JoinVariants;
using flow_rules::SplitVariants;

FlowRecord ReadFlow(sqlite3_stmt* s) { return flow_rules::ReadFlowRow(StmtRow{s}); }

class SqliteFlowStore final : public FlowStore {
 public:
  explicit SqliteFlowStore(Connections* conns) : conns_(conns) {}

  StatusOr<FlowRecord> Declare(std::string_view name, const std::vector<std::string>& variants,
                               std::string_view default_variant) override {
    REPRISE_RETURN_IF_ERROR(flow_rules::ValidateDeclaration(name, variants, default_variant));
    {
      auto w = conns_->LockWriter();
      REPRISE_RETURN_IF_ERROR(InWriteTransaction(w.db(), "flow", [&]() -> Status {
        const int64_t now = NowUs();
        Stmt ins;
        REPRISE_RETURN_IF_ERROR(ins.Prepare(
            w.db(),
            "INSERT INTO flows (name, variants, default_variant, rollout_percent, version, "
            "updated_at, updated_by, reason) VALUES (?1, ?2, ?3, 0, 1, ?4, 'code', 'declared') "
            "ON CONFLICT (name) DO NOTHING"));
        ins.BindText(1, name);
        ins.BindText(2, JoinVariants(variants));
        ins.BindText(3, default_variant);
        ins.BindInt(4, now);
        if (int rc = sqlite3_step(ins.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "declare flow");
        if (sqlite3_changes(w.db()) > 0) {
          REPRISE_RETURN_IF_ERROR(AddHistory(w.db(), name, 1, now, "code", "declared",
                                             flow_rules::DeclaredJson(variants, default_variant)));
        } else {
          // The code's variant list may have grown or shrunk with a release;
          // the operators' choices stay as they are.
          Stmt up;
          REPRISE_RETURN_IF_ERROR(up.Prepare(w.db(), "UPDATE flows SET variants = ?2 WHERE name = ?1"));
          up.BindText(1, name);
          up.BindText(2, JoinVariants(variants));
          if (int rc = sqlite3_step(up.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "declare flow");
        }
        return Status::Ok();
      }));
    }
    return Get(name);
  }

  StatusOr<FlowRecord> Get(std::string_view name) override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    return GetIn(r.db(), name);
  }

  StatusOr<std::vector<FlowRecord>> List() override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    return ListIn(r.db());
  }

  StatusOr<FlowRecord> Apply(const FlowChange& c) override {
    {
      auto w = conns_->LockWriter();
      REPRISE_RETURN_IF_ERROR(InWriteTransaction(w.db(), "flow change", [&]() -> Status {
        // Read inside the write transaction: another process's change cannot
        // slip in between validation and the new version.
        REPRISE_ASSIGN_OR_RETURN(auto current, GetIn(w.db(), c.flow));
        REPRISE_RETURN_IF_ERROR(flow_rules::ValidateChange(current, c));
        const int64_t version = current.version + 1;
        const int64_t now = NowUs();

        Stmt up;
        REPRISE_RETURN_IF_ERROR(up.Prepare(
            w.db(),
            "UPDATE flows SET default_variant = coalesce(?2, default_variant), "
            "rollout_variant = CASE WHEN ?3 THEN ?4 ELSE rollout_variant END, "
            "rollout_percent = CASE WHEN ?3 THEN ?5 ELSE rollout_percent END, "
            "version = ?6, updated_at = ?7, updated_by = ?8, reason = ?9 WHERE name = ?1"));
        up.BindText(1, c.flow);
        if (c.default_variant) up.BindText(2, *c.default_variant);
        up.BindInt(3, c.rollout.has_value());
        if (c.rollout) {
          const bool clear = flow_rules::ClearsRollout(*c.rollout);
          up.BindOptionalText(4, clear ? "" : c.rollout->variant);
          sqlite3_bind_double(up.get(), 5, clear ? 0 : c.rollout->percent);
        }
        up.BindInt(6, version);
        up.BindInt(7, now);
        up.BindOptionalText(8, c.who);
        up.BindOptionalText(9, c.reason);
        if (int rc = sqlite3_step(up.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "change flow");

        if (!c.assign.empty()) {
          Stmt a;
          REPRISE_RETURN_IF_ERROR(a.Prepare(
              w.db(),
              "INSERT INTO flow_assignments (flow, assignment_key, variant, version) "
              "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (flow, assignment_key) DO UPDATE SET "
              "variant = excluded.variant, version = excluded.version"));
          for (const auto& [key, variant] : c.assign) {
            sqlite3_reset(a.get());
            a.BindText(1, c.flow);
            a.BindText(2, key);
            a.BindText(3, variant);
            a.BindInt(4, version);
            if (int rc = sqlite3_step(a.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "assign key");
          }
        }
        if (!c.unassign.empty()) {
          Stmt d;
          REPRISE_RETURN_IF_ERROR(d.Prepare(
              w.db(), "DELETE FROM flow_assignments WHERE flow = ?1 AND assignment_key = ?2"));
          for (const auto& key : c.unassign) {
            sqlite3_reset(d.get());
            d.BindText(1, c.flow);
            d.BindText(2, key);
            if (int rc = sqlite3_step(d.get()); rc != SQLITE_DONE) return SqliteError(w.db(), rc, "unassign key");
          }
        }
        REPRISE_RETURN_IF_ERROR(AddHistory(w.db(), c.flow, version, now, c.who, c.reason,
                                           flow_rules::ChangeJson(current, c)));
        return Status::Ok();
      }));
    }
    return Get(c.flow);
  }

  StatusOr<FlowAssignmentPage> Assignments(std::string_view flow, uint32_t page_size,
                                           std::string_view page_token) override {
    uint32_t limit = std::clamp<uint32_t>(page_size == 0 ? 50 : page_size, 1, 1000);
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        r.db(), "SELECT assignment_key, variant FROM flow_assignments WHERE flow = ?1 AND "
                "assignment_key > ?2 ORDER BY assignment_key LIMIT " + std::to_string(limit + 1)));
    s.BindText(1, flow);
    s.BindText(2, page_token);
    FlowAssignmentPage page;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      if (page.assignments.size() == limit) {
        page.next_page_token = page.assignments.back().key;
        break;
      }
      page.assignments.push_back({ColumnText(s.get(), 0), ColumnText(s.get(), 1)});
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(r.db(), rc, "list assignments");
    return page;
  }

  StatusOr<std::map<std::string, std::string, std::less<>>> AllAssignments(
      std::string_view flow) override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        r.db(), "SELECT assignment_key, variant FROM flow_assignments WHERE flow = ?1"));
    s.BindText(1, flow);
    std::map<std::string, std::string, std::less<>> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      out.emplace(ColumnText(s.get(), 0), ColumnText(s.get(), 1));
    }
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "load assignments");
    return out;
  }

  StatusOr<std::vector<FlowHistoryEntry>> History(std::string_view flow, uint32_t limit) override {
    limit = std::clamp<uint32_t>(limit == 0 ? 20 : limit, 1, 1000);
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        r.db(), "SELECT flow, version, at, who, reason, change FROM flow_history WHERE flow = ?1 "
                "ORDER BY version DESC LIMIT " + std::to_string(limit)));
    s.BindText(1, flow);
    std::vector<FlowHistoryEntry> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      out.push_back({ColumnText(s.get(), 0), sqlite3_column_int64(s.get(), 1),
                     sqlite3_column_int64(s.get(), 2), ColumnText(s.get(), 3),
                     ColumnText(s.get(), 4), ColumnText(s.get(), 5)});
    }
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "flow history");
    return out;
  }

  StatusOr<int64_t> ChangeCounter() override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt s;
    // The history's rowid only grows (AUTOINCREMENT): max() is an index lookup.
    REPRISE_RETURN_IF_ERROR(s.Prepare(r.db(), "SELECT coalesce(max(id), 0) FROM flow_history"));
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW) return SqliteError(r.db(), rc, "flow change counter");
    return sqlite3_column_int64(s.get(), 0);
  }

 private:
  StatusOr<FlowRecord> GetIn(sqlite3* db, std::string_view name) {
    Stmt s;
    REPRISE_RETURN_IF_ERROR(
        s.Prepare(db, std::string("SELECT ") + flow_rules::kFlowColumns + " FROM flows WHERE name = ?1"));
    s.BindText(1, name);
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return ReadFlow(s.get());
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "get flow");
    REPRISE_ASSIGN_OR_RETURN(auto all, ListIn(db));
    return flow_rules::FlowNotFound(name, all);
  }

  StatusOr<std::vector<FlowRecord>> ListIn(sqlite3* db) {
    Stmt s;
    REPRISE_RETURN_IF_ERROR(
        s.Prepare(db, std::string("SELECT ") + flow_rules::kFlowColumns + " FROM flows ORDER BY name"));
    std::vector<FlowRecord> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(ReadFlow(s.get()));
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "list flows");
    return out;
  }

  static Status AddHistory(sqlite3* db, std::string_view flow, int64_t version, int64_t at,
                           std::string_view who, std::string_view reason, std::string_view change) {
    Stmt h;
    REPRISE_RETURN_IF_ERROR(h.Prepare(
        db, "INSERT INTO flow_history (flow, version, at, who, reason, change) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    h.BindText(1, flow);
    h.BindInt(2, version);
    h.BindInt(3, at);
    h.BindOptionalText(4, who);
    h.BindOptionalText(5, reason);
    h.BindText(6, change);
    if (int rc = sqlite3_step(h.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "flow history");
    return Status::Ok();
  }

  Connections* const conns_;
};

}  // namespace

std::unique_ptr<FlowStore> NewSqliteFlowStore(Connections* conns) {
  return std::make_unique<SqliteFlowStore>(conns);
}

}  // namespace reprise
