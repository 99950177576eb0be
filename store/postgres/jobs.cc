// Jobs in the PostgreSQL journal (tables jobs and job_items, schema v2, v5, v6).
// Same semantics as sqlite/jobs.cc. A claim locks the job's row, so claims of
// one job are serialized (which keeps per-key order across instances), and
// takes its items FOR UPDATE SKIP LOCKED.
#include <algorithm>

#include "job_rules.h"
#include "json_text.h"
#include "postgres/journal.h"
#include "reprise/store/job.h"

namespace reprise {
namespace {

using namespace pg;  // NOLINT: this file is the journal's PostgreSQL code

JobRecord ReadJob(const Result& r, int i) {
  JobRecord j;
  j.id = r.text(i, 0);
  j.spec.kind = r.text(i, 1);
  j.spec.filter = r.text(i, 2);
  j.spec.target = r.integer(i, 3) == 2 ? ReflowTarget::kDownstream : ReflowTarget::kSelf;
  j.spec.rate = r.real(i, 4);
  j.spec.concurrency = static_cast<uint32_t>(r.integer(i, 5));
  j.spec.max_failures = static_cast<uint64_t>(r.integer(i, 6));
  j.spec.limit = static_cast<uint64_t>(r.integer(i, 7));
  j.spec.reason = r.text(i, 8);
  j.spec.created_by = r.text(i, 9);
  j.instance = r.text(i, 10);
  int64_t state = r.integer(i, 11);
  j.state = (state >= 1 && state <= 5) ? static_cast<JobState>(state) : JobState::kRunning;
  j.reason = r.text(i, 12);
  j.total = static_cast<uint64_t>(r.integer(i, 13));
  j.done = static_cast<uint64_t>(r.integer(i, 14));
  j.failed = static_cast<uint64_t>(r.integer(i, 15));
  j.redelivered = static_cast<uint64_t>(r.integer(i, 16));
  j.created_at_us = r.integer(i, 17);
  j.finished_at_us = r.integer(i, 18);
  j.spec.service = r.text(i, 19);
  j.spec.deriver = r.text(i, 20);
  j.spec.dry_run = r.text(i, 21) == "t";
  j.changed = static_cast<uint64_t>(r.integer(i, 22));
  return j;
}

// The selection of a job: ids of matching messages with the target's
// direction, oldest first, at most `limit`; for a re-derive, the newest
// matching message of each key, in either direction. Parameters fill `p`.
StatusOr<std::string> SelectionFor(const JobSpec& spec, Params& p, SelectionPart part = SelectionPart::kReplayed) {
  const bool other_direction = part == SelectionPart::kOtherDirection;
  REPRISE_ASSIGN_OR_RETURN(auto compiled,
                           filter::Compile(PartFilter(spec, part), {filter::Dialect::kPostgres, NowUs(), p.size() + 1}));
  p.All(compiled.params);
  const bool rederive = spec.kind == kRederiveJob;
  std::string sql;
  if (rederive) {
    // Nothing is "excluded" by direction: a re-derive reads every input.
    sql = "SELECT DISTINCT ON (message_key) id, message_key, channel, outcome FROM messages WHERE (" +
          compiled.where + ") AND message_key IS NOT NULL" + (other_direction ? " AND false" : "");
  } else {
    sql = "SELECT id, message_key, channel, outcome FROM messages WHERE (" + compiled.where +
          ") AND direction " + (other_direction ? "!= " : "= ") + p.Next();
    p.Int(static_cast<int>(TargetDirection(spec.target)));
  }
  if (!spec.keys.empty()) {
    sql += " AND message_key IN (SELECT jsonb_array_elements_text(" + p.Next() + "::jsonb))";
    p.Text(json::EncodeStrings(spec.keys));
  }
  if (spec.originals_only) sql += " AND origin_id IS NULL";
  if (!spec.before_id.empty()) {
    sql += " AND id < " + p.Next();
    p.Text(spec.before_id);
  }
  sql += PartCondition(spec, part, "false");
  if (rederive) {
    // One row per key, the newest; then in selection (id) order like any job.
    sql = "SELECT * FROM (" + sql + " ORDER BY message_key, id DESC) k";
  }
  sql += " ORDER BY id";
  if (part == SelectionPart::kReplayed && spec.limit > 0) sql += " LIMIT " + std::to_string(spec.limit);
  return sql;
}

class PgJobStore final : public JobStore {
 public:
  explicit PgJobStore(Pool* pool) : pool_(pool) {}

  StatusOr<JobPlan> PlanJob(const JobSpec& spec) override {
    Params p;
    REPRISE_ASSIGN_OR_RETURN(auto sel, SelectionFor(spec, p));
    Params po, pr, pold;
    REPRISE_ASSIGN_OR_RETURN(auto other, SelectionFor(spec, po, SelectionPart::kOtherDirection));
    REPRISE_ASSIGN_OR_RETURN(auto resolved, SelectionFor(spec, pr, SelectionPart::kResolved));
    REPRISE_ASSIGN_OR_RETURN(auto older, SelectionFor(spec, pold, SelectionPart::kOlder));
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    // One snapshot for every figure of the plan.
    Transaction tx(c);
    REPRISE_RETURN_IF_ERROR(tx.Begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    JobPlan plan;
    REPRISE_ASSIGN_OR_RETURN(
        auto totals,
        c.Exec("SELECT count(*), count(DISTINCT message_key) FROM (" + sel + ") s", p, "plan job"));
    plan.messages = static_cast<uint64_t>(totals.integer(0, 0));
    plan.keys = static_cast<uint64_t>(totals.integer(0, 1));
    REPRISE_ASSIGN_OR_RETURN(auto excluded, c.Exec("SELECT count(*) FROM (" + other + ") s", po, "plan job"));
    plan.excluded = static_cast<uint64_t>(excluded.integer(0, 0));
    REPRISE_ASSIGN_OR_RETURN(auto left_resolved, c.Exec("SELECT count(*) FROM (" + resolved + ") s", pr, "plan job"));
    plan.resolved = static_cast<uint64_t>(left_resolved.integer(0, 0));
    REPRISE_ASSIGN_OR_RETURN(auto left_older, c.Exec("SELECT count(*) FROM (" + older + ") s", pold, "plan job"));
    plan.older = static_cast<uint64_t>(left_older.integer(0, 0));
    for (auto [group, out] :
         {std::pair{std::string("channel"), &plan.by_channel},
          std::pair{OutcomeNameSql() + " COLLATE \"C\"", &plan.by_outcome}}) {
      REPRISE_ASSIGN_OR_RETURN(auto by, c.Exec("SELECT " + group + " AS g, count(*) AS n FROM (" + sel +
                                                   ") s GROUP BY 1 ORDER BY n DESC, g",
                                               p, "plan job"));
      for (int i = 0; i < by.rows(); ++i) {
        out->push_back({by.text(i, 0), static_cast<uint64_t>(by.integer(i, 1))});
      }
    }
    REPRISE_ASSIGN_OR_RETURN(
        auto sample, c.Exec("SELECT " + Columns() + " FROM messages WHERE id IN (SELECT id FROM (" + sel +
                                ") s LIMIT " + std::to_string(kJobSampleSize) + ") ORDER BY id",
                            p, "plan job"));
    for (int i = 0; i < sample.rows(); ++i) plan.sample.push_back(ReadMessage(sample, i, 0, false));
    REPRISE_RETURN_IF_ERROR(tx.Commit());
    return plan;
  }

  StatusOr<JobRecord> CreateJob(const JobSpec& spec, const std::string& instance) override {
    Params p;
    p.Text(spec.kind);
    p.Text(spec.filter);
    p.Int(static_cast<int>(spec.target));
    p.Double(spec.rate);
    p.Int(spec.concurrency);
    p.Int(static_cast<int64_t>(spec.max_failures));
    p.Int(static_cast<int64_t>(spec.limit));
    p.OptionalText(spec.reason);
    p.OptionalText(spec.created_by);
    p.OptionalText(instance);
    p.Int(NowUs());
    p.OptionalText(spec.service);
    p.OptionalText(spec.deriver);
    p.Text(spec.dry_run ? "true" : "false");
    Params ps;
    REPRISE_ASSIGN_OR_RETURN(auto sel, SelectionFor(spec, ps));
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    Transaction tx(c);
    REPRISE_RETURN_IF_ERROR(tx.Begin());
    REPRISE_ASSIGN_OR_RETURN(
        auto job,
        c.Exec(
            "INSERT INTO jobs (kind, filter, target, rate, concurrency, max_failures, item_limit, "
            "reason, created_by, instance, state, created_at, service, deriver, dry_run) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13, $14::boolean) RETURNING id",
            p, "create job"));
    // The selection is fixed here, in the job's own transaction: messages
    // recorded later never join it.
    const std::string id = ps.Next();
    ps.Int(job.integer(0, 0));
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("WITH items AS (INSERT INTO job_items (job_id, seq, message_id, message_key) SELECT " +
                           id + ", row_number() OVER (ORDER BY s.id), s.id, s.message_key FROM (" + sel +
                           ") s RETURNING 1) "
                           "UPDATE jobs SET total = (SELECT count(*) FROM items) WHERE id = " +
                           id + " RETURNING " + kJobColumns,
                       ps, "create job"));
    JobRecord record = ReadJob(r, 0);
    if (spec.expect_total && *spec.expect_total != record.total) return SelectionChanged(*spec.expect_total, record.total);
    REPRISE_RETURN_IF_ERROR(tx.Commit());
    return record;
  }

  StatusOr<JobRecord> GetJob(std::string_view id) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(id));
    REPRISE_ASSIGN_OR_RETURN(auto jobs, SelectJobs("WHERE id = " + std::to_string(n)));
    if (jobs.empty()) return JobNotFound(id);
    JobRecord& job = jobs.front();
    if (job.changed > 0) {
      Params p;
      p.Int(n);
      p.Int(static_cast<int64_t>(kChangedKeysSample));
      REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
      REPRISE_ASSIGN_OR_RETURN(auto keys,
                               c.Exec("SELECT message_key FROM job_items WHERE job_id = $1 AND changed "
                                      "ORDER BY seq LIMIT $2",
                                      p, "read job"));
      for (int i = 0; i < keys.rows(); ++i) job.changed_keys.push_back(keys.text(i, 0));
    }
    return std::move(job);
  }

  StatusOr<std::vector<JobRecord>> ListJobs(uint32_t limit) override {
    if (limit == 0) limit = 20;
    return SelectJobs("ORDER BY id DESC LIMIT " + std::to_string(std::min<uint32_t>(limit, 1000)));
  }

  StatusOr<std::vector<JobRecord>> UnfinishedJobs() override {
    return SelectJobs("WHERE state IN (1, 2) ORDER BY id");
  }

  StatusOr<std::vector<JobItem>> ClaimItems(std::string_view job_id, const ItemClaim& claim) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    const int64_t now = NowUs();
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    Transaction tx(c);
    REPRISE_RETURN_IF_ERROR(tx.Begin());
    Params pj;
    pj.Int(n);
    REPRISE_ASSIGN_OR_RETURN(auto locked,
                             c.Exec("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", pj, "claim job items"));
    if (locked.rows() == 0) return std::vector<JobItem>();  // no such job: nothing to claim
    // Items in flight whose lease ran out or whose claimer is no live
    // instance: a copy with a final outcome finished, so the item is done;
    // one with a pending copy goes back to pending, marked redelivery (it
    // may have been dispatched); one without a copy never was, and goes back
    // as it was.
    Params ps;
    ps.Int(n);
    ps.Text(std::to_string(n));
    ps.Int(now);
    auto settled = c.Exec(
        "WITH stuck AS (SELECT i.seq, i.redelivery, c.id AS copy, c.outcome FROM job_items i "
        "LEFT JOIN LATERAL (SELECT id, outcome FROM messages WHERE origin_id = i.message_id "
        "AND job_id = $2 ORDER BY id DESC LIMIT 1) c ON true "
        "WHERE i.job_id = $1 AND i.state = 1 AND (i.lease_until IS NULL OR i.lease_until < $3 "
        "OR i.claimed_by IS NULL OR i.claimed_by NOT IN (SELECT id FROM instances WHERE state = 1)) "
        "FOR UPDATE OF i), "
        "finished AS (UPDATE job_items i SET state = 2, copy_id = s.copy, outcome = s.outcome "
        "FROM stuck s WHERE i.job_id = $1 AND i.seq = s.seq AND s.copy IS NOT NULL AND s.outcome != 1 "
        "RETURNING s.outcome, s.redelivery), "
        "again AS (UPDATE job_items i SET state = 0, redelivery = i.redelivery OR s.copy IS NOT NULL, "
        "claimed_by = NULL, lease_until = NULL "
        "FROM stuck s WHERE i.job_id = $1 AND i.seq = s.seq AND (s.copy IS NULL OR s.outcome = 1) RETURNING 1) "
        "UPDATE jobs SET done = done + (SELECT count(*) FROM finished), "
        "failed = failed + (SELECT count(*) FROM finished WHERE outcome = 3), "
        "redelivered = redelivered + (SELECT count(*) FROM finished WHERE redelivery) "
        "WHERE id = $1",  // `again` runs too: PostgreSQL runs every data-modifying WITH
        ps, "settle abandoned job items");
    if (!settled.ok()) return settled.status();
    // Pending items whose key has nothing in flight, in selection order; of
    // those, a fleet member takes its share of the keys (ClaimShare) and
    // leaves the rest to the others. The scan is bounded.
    Params pc;
    pc.Int(n);
    pc.Int(static_cast<int64_t>(claim.share <= 1 ? claim.max : claim.max * 16));
    REPRISE_ASSIGN_OR_RETURN(
        auto candidates,
        c.Exec("SELECT i.seq, i.message_key FROM job_items i WHERE i.job_id = $1 AND i.state = 0 "
               "AND NOT EXISTS (SELECT 1 FROM job_items f WHERE f.job_id = $1 AND f.state = 1 "
               "AND f.message_key IS NOT DISTINCT FROM i.message_key) ORDER BY i.seq LIMIT $2 "
               "FOR UPDATE OF i SKIP LOCKED",
               pc, "claim job items"));
    std::vector<std::string> keys;
    for (int i = 0; i < candidates.rows(); ++i) keys.push_back(candidates.text(i, 1));
    std::string chosen = "[";
    size_t taken = 0;
    for (size_t i : ClaimShare(keys, claim)) chosen += (taken++ ? "," : "") + candidates.text(static_cast<int>(i), 0);
    chosen += "]";
    // The chosen items' payload sizes, to stop at claim.max_bytes (see
    // ItemClaim) before their payloads are read.
    std::string list = "[";
    if (taken > 0) {
      Params pz;
      pz.Int(n);
      pz.Text(chosen);
      REPRISE_ASSIGN_OR_RETURN(
          auto sizes,
          c.Exec(
              "SELECT i.seq, octet_length(m.payload) FROM job_items i JOIN messages m ON m.id = i.message_id "
              "WHERE i.job_id = $1 AND i.seq IN (SELECT (jsonb_array_elements_text($2::jsonb))::bigint) "
              "ORDER BY i.seq",
              pz, "claim job items"));
      taken = 0;
      size_t bytes = 0;
      for (int i = 0; i < sizes.rows() && (taken == 0 || bytes < claim.max_bytes); ++i) {
        list += (taken++ ? "," : "") + sizes.text(i, 0);
        bytes += static_cast<size_t>(sizes.integer(i, 1));
      }
    }
    list += "]";
    std::vector<JobItem> items;
    if (taken > 0) {
      Params pm;
      pm.Int(n);
      pm.Text(list);
      pm.OptionalText(claim.instance);
      pm.Int(now + claim.lease.count() * 1000);
      REPRISE_ASSIGN_OR_RETURN(
          auto r,
          c.Exec("WITH claimed AS (UPDATE job_items SET state = 1, claimed_by = $3, lease_until = $4 "
                 "WHERE job_id = $1 AND seq IN (SELECT (jsonb_array_elements_text($2::jsonb))::bigint) "
                 "RETURNING seq, redelivery, message_id) "
                 "SELECT i.seq, i.redelivery, " +
                     Columns("m") +
                     ", m.payload FROM claimed i JOIN messages m ON m.id = i.message_id ORDER BY i.seq",
                 pm, "claim job items"));
      for (int i = 0; i < r.rows(); ++i) {
        JobItem item;
        item.seq = r.integer(i, 0);
        item.redelivery = r.text(i, 1) == "t";
        item.message = ReadMessage(r, i, 2, true);
        items.push_back(std::move(item));
      }
    }
    REPRISE_RETURN_IF_ERROR(tx.Commit());
    return items;
  }

  Status CompleteItems(std::string_view job_id, std::string_view instance,
                       const std::vector<ItemResult>& results) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    if (results.empty()) return Status::Ok();
    std::string rows = "[";
    for (const ItemResult& r : results) {
      if (rows.size() > 1) rows += ",";
      rows += "{\"seq\":" + std::to_string(r.seq) + ",\"copy\":";
      if (r.copy_id.empty()) rows += "null";
      else json::AppendQuoted(rows, r.copy_id);
      rows += ",\"outcome\":" + std::to_string(static_cast<int>(r.outcome)) +
              ",\"redelivery\":" + (r.redelivery ? "true" : "false") +
              ",\"changed\":" + (r.changed ? "true" : "false") + "}";
    }
    rows += "]";
    Params p;
    p.Int(n);
    p.Text(rows);
    p.OptionalText(instance);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    // Only items still this instance's count, and only once.
    return c.Exec(
                "WITH r AS (SELECT DISTINCT ON (seq) * FROM jsonb_to_recordset($2::jsonb) AS "
                "x(seq bigint, copy text, outcome smallint, redelivery boolean, changed boolean)), "
                "done AS (UPDATE job_items i SET state = 2, copy_id = r.copy, outcome = r.outcome, "
                "changed = r.changed "
                "FROM r WHERE i.job_id = $1 AND i.seq = r.seq AND i.state = 1 "
                "AND i.claimed_by IS NOT DISTINCT FROM $3::text "
                "RETURNING r.outcome, r.redelivery, r.changed) "
                "UPDATE jobs SET done = done + (SELECT count(*) FROM done), "
                "failed = failed + (SELECT count(*) FROM done WHERE outcome = 3), "
                "redelivered = redelivered + (SELECT count(*) FROM done WHERE redelivery), "
                "changed = changed + (SELECT count(*) FROM done WHERE changed) "
                "WHERE id = $1",
                p, "complete job items")
        .status();
  }

  Status ReleaseItems(std::string_view job_id, std::string_view instance,
                      const std::vector<int64_t>& seqs) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    if (seqs.empty()) return Status::Ok();
    std::string list = "[";
    for (int64_t s : seqs) list += (list.size() > 1 ? "," : "") + std::to_string(s);
    list += "]";
    Params p;
    p.Int(n);
    p.Text(list);
    p.OptionalText(instance);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    return c.Exec(
                "UPDATE job_items SET state = 0, claimed_by = NULL, lease_until = NULL "
                "WHERE job_id = $1 AND state = 1 AND claimed_by IS NOT DISTINCT FROM $3::text AND seq IN "
                "(SELECT (jsonb_array_elements_text($2::jsonb))::bigint)",
                p, "release job items")
        .status();
  }

  StatusOr<JobRecord> RenewLease(std::string_view job_id, std::string_view instance,
                                 std::chrono::milliseconds lease) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    Params p;
    p.Int(n);
    p.OptionalText(instance);
    p.Int(NowUs() + lease.count() * 1000);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r,
        c.Exec(std::string(
                   "WITH renewed AS (UPDATE job_items SET lease_until = $3 WHERE job_id = $1 AND state = 1 "
                   "AND claimed_by IS NOT DISTINCT FROM $2::text RETURNING 1) "
                   "SELECT ") +
                   kJobColumns + " FROM jobs WHERE id = $1",
               p, "renew lease"));
    if (r.rows() == 0) return JobNotFound(job_id);
    return ReadJob(r, 0);
  }

  Status SetJobState(std::string_view id, JobState state, std::string_view reason) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(id));
    Params p;
    p.Int(n);
    p.Int(static_cast<int>(state));
    p.OptionalText(reason);
    p.Text(IsFinal(state) ? "true" : "false");
    p.Int(NowUs());
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("UPDATE jobs SET state = $2, end_reason = COALESCE($3, end_reason), "
                       "finished_at = CASE WHEN $4::boolean THEN $5::bigint ELSE finished_at END "
                       "WHERE id = $1 AND state NOT IN (3, 4, 5)",
                       p, "set job state"));
    // The instances running the job hear of a cancel or stop at once (their
    // lease renewal sees it within a tick anyway, so this is best effort).
    if (r.changed() > 0) {
      (void)NotifyChange(c, "reprise_jobs");
      return Status::Ok();
    }
    // Nothing changed: the job has already ended (final states stay), or it does not exist.
    REPRISE_ASSIGN_OR_RETURN(auto jobs, SelectJobs("WHERE id = " + std::to_string(n)));
    return jobs.empty() ? JobNotFound(id) : Status::Ok();
  }

 private:
  StatusOr<std::vector<JobRecord>> SelectJobs(const std::string& tail) {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_->Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec(std::string("SELECT ") + kJobColumns + " FROM jobs " + tail, "read jobs"));
    std::vector<JobRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadJob(r, i));
    return out;
  }

  Pool* const pool_;
};

}  // namespace

std::unique_ptr<JobStore> NewPgJobStore(Pool* pool) { return std::make_unique<PgJobStore>(pool); }

}  // namespace reprise
