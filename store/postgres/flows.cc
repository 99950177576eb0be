// Flows in the PostgreSQL journal (tables flows, flow_assignments,
// flow_history, schema v4). A change locks its flow's row, so changes made
// by several processes at once apply one after the other.
#include <algorithm>

#include "flow_rules.h"
#include "postgres/journal.h"

namespace reprise {
namespace {

using namespace pg;  // NOLINT: this file is the journal's PostgreSQL code

FlowRecord ReadFlow(const Result& r, int i) { return flow_rules::ReadFlowRow(ResultRow{r, i}); }

class PgFlowStore final : public FlowStore {
 public:
  explicit PgFlowStore(Pool* pool) : pool_(pool) {}

  StatusOr<FlowRecord> Declare(std::string_view name, const std::vector<std::string>& variants,
                               std::string_view default_variant) override {
    REPRISE_RETURN_IF_ERROR(flow_rules::ValidateDeclaration(name, variants, default_variant));
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    {
      Transaction tx(c);
      REPRISE_RETURN_IF_ERROR(tx.Begin());
      const int64_t now = NowUs();
      Params p;
      p.Text(name);
      p.Text(flow_rules::JoinVariants(variants));
      p.Text(default_variant);
      p.Int(now);
      REPRISE_ASSIGN_OR_RETURN(
          auto ins,
          c.Exec("INSERT INTO flows (name, variants, default_variant, rollout_percent, version, "
                 "updated_at, updated_by, reason) VALUES ($1, $2, $3, 0, 1, $4, 'code', 'declared') "
                 "ON CONFLICT (name) DO NOTHING",
                 p, "declare flow"));
      if (ins.changed() > 0) {
        REPRISE_RETURN_IF_ERROR(AddHistory(c, name, 1, now, "code", "declared",
                                           flow_rules::DeclaredJson(variants, default_variant)));
      } else {
        // The code's variant list may have grown or shrunk with a release;
        // the operators' choices stay as they are.
        Params up;
        up.Text(name);
        up.Text(flow_rules::JoinVariants(variants));
        REPRISE_RETURN_IF_ERROR(
            c.Exec("UPDATE flows SET variants = $2 WHERE name = $1", up, "declare flow").status());
      }
      REPRISE_RETURN_IF_ERROR(tx.Commit());
    }
    return GetIn(c, name, false);
  }

  StatusOr<FlowRecord> Get(std::string_view name) override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    return GetIn(c, name, false);
  }

  StatusOr<std::vector<FlowRecord>> List() override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    return ListIn(c);
  }

  StatusOr<FlowRecord> Apply(const FlowChange& ch) override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    {
      Transaction tx(c);
      REPRISE_RETURN_IF_ERROR(tx.Begin());
      // Locked until commit: another process's change cannot slip in
      // between validation and the new version.
      REPRISE_ASSIGN_OR_RETURN(auto current, GetIn(c, ch.flow, true));
      REPRISE_RETURN_IF_ERROR(flow_rules::ValidateChange(current, ch));
      const int64_t version = current.version + 1;
      const int64_t now = NowUs();
      Params p;
      p.Text(ch.flow);
      if (ch.default_variant) p.Text(*ch.default_variant);
      else p.Null();
      p.Text(ch.rollout ? "true" : "false");
      const bool clear = ch.rollout && flow_rules::ClearsRollout(*ch.rollout);
      if (ch.rollout && !clear) p.Text(ch.rollout->variant);
      else p.Null();
      p.Double(ch.rollout && !clear ? ch.rollout->percent : 0);
      p.Int(version);
      p.Int(now);
      p.OptionalText(ch.who);
      p.OptionalText(ch.reason);
      REPRISE_RETURN_IF_ERROR(
          c.Exec("UPDATE flows SET default_variant = coalesce($2, default_variant), "
                  "rollout_variant = CASE WHEN $3::boolean THEN $4 ELSE rollout_variant END, "
                  "rollout_percent = CASE WHEN $3::boolean THEN $5::double precision ELSE rollout_percent END, "
                  "version = $6, updated_at = $7, updated_by = $8, reason = $9 WHERE name = $1",
                  p, "change flow")
              .status());
      for (const auto& [key, variant] : ch.assign) {
        Params a;
        a.Text(ch.flow);
        a.Text(key);
        a.Text(variant);
        a.Int(version);
        REPRISE_RETURN_IF_ERROR(
            c.Exec("INSERT INTO flow_assignments (flow, assignment_key, variant, version) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (flow, assignment_key) DO UPDATE SET "
                    "variant = excluded.variant, version = excluded.version",
                    a, "assign key")
                .status());
      }
      for (const auto& key : ch.unassign) {
        Params d;
        d.Text(ch.flow);
        d.Text(key);
        REPRISE_RETURN_IF_ERROR(
            c.Exec("DELETE FROM flow_assignments WHERE flow = $1 AND assignment_key = $2", d,
                    "unassign key")
                .status());
      }
      REPRISE_RETURN_IF_ERROR(AddHistory(c, ch.flow, version, now, ch.who, ch.reason,
                                         flow_rules::ChangeJson(current, ch)));
      REPRISE_RETURN_IF_ERROR(tx.Commit());
    }
    return GetIn(c, ch.flow, false);
  }

  StatusOr<FlowAssignmentPage> Assignments(std::string_view flow, uint32_t page_size,
                                           std::string_view page_token) override {
    uint32_t limit = std::clamp<uint32_t>(page_size == 0 ? 50 : page_size, 1, 1000);
    Params p;
    p.Text(flow);
    p.Text(page_token);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("SELECT assignment_key, variant FROM flow_assignments WHERE flow = $1 AND "
                       "assignment_key > $2 ORDER BY assignment_key LIMIT " +
                           std::to_string(limit + 1),
                       p, "list assignments"));
    FlowAssignmentPage page;
    for (int i = 0; i < r.rows(); ++i) {
      if (page.assignments.size() == limit) {
        page.next_page_token = page.assignments.back().key;
        break;
      }
      page.assignments.push_back({r.text(i, 0), r.text(i, 1)});
    }
    return page;
  }

  StatusOr<std::map<std::string, std::string, std::less<>>> AllAssignments(
      std::string_view flow) override {
    Params p;
    p.Text(flow);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r,
                             c.Exec("SELECT assignment_key, variant FROM flow_assignments WHERE flow = $1", p,
                                    "load assignments"));
    std::map<std::string, std::string, std::less<>> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace(r.text(i, 0), r.text(i, 1));
    return out;
  }

  StatusOr<std::vector<FlowHistoryEntry>> History(std::string_view flow, uint32_t limit) override {
    limit = std::clamp<uint32_t>(limit == 0 ? 20 : limit, 1, 1000);
    Params p;
    p.Text(flow);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("SELECT flow, version, at, who, reason, change FROM flow_history WHERE flow = $1 "
                       "ORDER BY version DESC LIMIT " +
                           std::to_string(limit),
                       p, "flow history"));
    std::vector<FlowHistoryEntry> out;
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back({r.text(i, 0), r.integer(i, 1), r.integer(i, 2), r.text(i, 3),
                     r.text(i, 4), r.text(i, 5)});
    }
    return out;
  }

  StatusOr<int64_t> ChangeCounter() override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r,
                             c.Exec("SELECT coalesce(max(id), 0) FROM flow_history", "flow change counter"));
    return r.integer(0, 0);
  }

 private:
  StatusOr<FlowRecord> GetIn(Conn& c, std::string_view name, bool for_update) {
    Params p;
    p.Text(name);
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec(std::string("SELECT ") + flow_rules::kFlowColumns + " FROM flows WHERE name = $1" +
                           (for_update ? " FOR UPDATE" : ""),
                       p, "get flow"));
    if (r.rows() > 0) return ReadFlow(r, 0);
    REPRISE_ASSIGN_OR_RETURN(auto all, ListIn(c));
    return flow_rules::FlowNotFound(name, all);
  }

  StatusOr<std::vector<FlowRecord>> ListIn(Conn& c) {
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec(std::string("SELECT ") + flow_rules::kFlowColumns + " FROM flows ORDER BY name",
                       "list flows"));
    std::vector<FlowRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadFlow(r, i));
    return out;
  }

  static Status AddHistory(Conn& c, std::string_view flow, int64_t version, int64_t at,
                           std::string_view who, std::string_view reason, std::string_view change) {
    Params p;
    p.Text(flow);
    p.Int(version);
    p.Int(at);
    p.OptionalText(who);
    p.OptionalText(reason);
    p.Text(change);
    REPRISE_RETURN_IF_ERROR(c.Exec("INSERT INTO flow_history (flow, version, at, who, reason, change) "
                                   "VALUES ($1, $2, $3, $4, $5, $6)",
                                   p, "flow history")
                                .status());
    // Every flow change writes history: the other processes hear of it on commit.
    return NotifyChange(c, "reprise_flows");
  }

  Pool* const pool_;
};

}  // namespace

std::unique_ptr<FlowStore> NewPgFlowStore(Pool* pool) { return std::make_unique<PgFlowStore>(pool); }

}  // namespace reprise
