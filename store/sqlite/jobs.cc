#include "sqlite/jobs.h"

#include <cstdlib>
#include <set>

#include "job_rules.h"
#include "sqlite/key_runs.h"
#include "sqlite/util.h"

namespace reprise {
namespace {

using namespace sqlite;  // NOLINT: this file is the journal's SQLite code

// A lone instance's claim (schema v11): the job's first pending items,
// seqs first to last, taken while nothing of the job is in flight, with one
// write to the job's row instead of one per item. Its items stay pending
// until done, when their completion moves them to done directly: each item
// is written once where a claim of the fleet's kind marks it in flight
// first. One per job; `by` is empty when there is none.
struct SoloClaim {
  std::string by;
  int64_t first = 0, last = 0, lease_until = 0;
  bool HeldBy(std::string_view instance) const { return !by.empty() && by == instance; }
};

// What a claim must pass over beside items in flight: seqs first to last
// (a solo claim's) and any item of `keys`.
struct Held {
  int64_t first = 1, last = 0;
  std::set<std::string> keys;
  bool Holds(int64_t seq, const std::string& key) const {
    return (seq >= first && seq <= last) || keys.count(key) > 0;
  }
  // How many pending rows to scan for n claimable ones: beside the range's,
  // held keys may have later items, so then 16 times as many (as a fleet
  // member's claim scans).
  int64_t ScanLimit(size_t n) const {
    return static_cast<int64_t>(keys.empty() ? n : n * 16) + (last >= first ? last - first + 1 : 0);
  }
};

JobRecord ReadJob(sqlite3_stmt* s) {
  JobRecord j;
  j.id = std::to_string(sqlite3_column_int64(s, 0));
  j.spec.kind = ColumnText(s, 1);
  j.spec.filter = ColumnText(s, 2);
  j.spec.target = sqlite3_column_int(s, 3) == 2 ? ReflowTarget::kDownstream : ReflowTarget::kSelf;
  j.spec.rate = sqlite3_column_double(s, 4);
  j.spec.concurrency = static_cast<uint32_t>(sqlite3_column_int64(s, 5));
  j.spec.max_failures = static_cast<uint64_t>(sqlite3_column_int64(s, 6));
  j.spec.limit = static_cast<uint64_t>(sqlite3_column_int64(s, 7));
  j.spec.reason = ColumnText(s, 8);
  j.spec.created_by = ColumnText(s, 9);
  j.instance = ColumnText(s, 10);
  int state = sqlite3_column_int(s, 11);
  j.state = (state >= 1 && state <= 5) ? static_cast<JobState>(state) : JobState::kRunning;
  j.reason = ColumnText(s, 12);
  j.total = static_cast<uint64_t>(sqlite3_column_int64(s, 13));
  j.done = static_cast<uint64_t>(sqlite3_column_int64(s, 14));
  j.failed = static_cast<uint64_t>(sqlite3_column_int64(s, 15));
  j.redelivered = static_cast<uint64_t>(sqlite3_column_int64(s, 16));
  j.created_at_us = sqlite3_column_int64(s, 17);
  j.finished_at_us = sqlite3_column_int64(s, 18);
  j.spec.service = ColumnText(s, 19);
  j.spec.deriver = ColumnText(s, 20);
  j.spec.dry_run = sqlite3_column_int(s, 21) != 0;
  j.changed = static_cast<uint64_t>(sqlite3_column_int64(s, 22));
  return j;
}

// The selection of a job as SQL: ids of matching messages with the target's
// direction, oldest first, at most `limit`; for a re-derive, the newest
// matching message of each key, in either direction. Filter parameters come
// first.
struct Selection {
  std::string sql;  // SELECT id, message_key, channel, outcome, seq FROM messages ...
  std::vector<filter::SqlValue> params;
};

StatusOr<Selection> SelectionFor(const JobSpec& spec, SelectionPart part = SelectionPart::kReplayed) {
  const bool other_direction = part == SelectionPart::kOtherDirection;
  REPRISE_ASSIGN_OR_RETURN(auto compiled, filter::Compile(PartFilter(spec, part), {filter::Dialect::kSqlite, NowUs(), 1,
                                                                        /*sqlite_journal=*/true}));
  Selection sel;
  sel.params = compiled.params;
  const std::string from = FromMessages(compiled.keyed || !spec.keys.empty());
  const bool rederive = spec.kind == kRederiveJob;
  if (rederive) {
    // Nothing is "excluded" by direction: a re-derive reads every input.
    sel.sql = "SELECT id, message_key, channel, outcome, seq" + from + " WHERE (" + compiled.where +
              ") AND message_key IS NOT NULL" + (other_direction ? " AND 0" : "");
  } else {
    sel.params.push_back(static_cast<int64_t>(TargetDirection(spec.target)));
    const std::string dir = "?" + std::to_string(sel.params.size());
    sel.sql = "SELECT id, message_key, channel, outcome, seq" + from + " WHERE (" + compiled.where +
              ") AND direction " + (other_direction ? "!= " : "= ") + dir;
  }
  if (!spec.keys.empty()) {
    sel.params.emplace_back(std::in_place_type<std::string>, json::EncodeStrings(spec.keys));
    sel.sql += " AND " + ThroughKeyRuns("message_key IN (SELECT value FROM json_each(?" +
                                        std::to_string(sel.params.size()) + "))");
  }
  if (spec.originals_only) sel.sql += " AND origin_id IS NULL";
  if (!spec.before_id.empty()) {
    sel.params.emplace_back(std::in_place_type<std::string>, spec.before_id);
    sel.sql += " AND id < ?" + std::to_string(sel.params.size());
  }
  sel.sql += PartCondition(spec, part, "0");
  if (rederive) {
    // SQLite returns the other columns from the row holding max(id).
    sel.sql = "SELECT max(id) AS id, message_key, channel, outcome, seq FROM (" + sel.sql +
              ") GROUP BY message_key";
  }
  sel.sql += " ORDER BY id";
  if (part == SelectionPart::kReplayed && spec.limit > 0) sel.sql += " LIMIT " + std::to_string(spec.limit);
  return sel;
}

void BindAll(Stmt& stmt, const std::vector<filter::SqlValue>& params) {
  for (size_t i = 0; i < params.size(); ++i) stmt.BindValue(static_cast<int>(i) + 1, params[i]);
}

// An item whose message is gone (retention deleted it after the job began).
Status MissingMessage(int64_t job, int64_t seq) {
  return FailedPrecondition("job " + std::to_string(job) + ": the message of item " + std::to_string(seq) +
                            " is no longer in the journal (deleted since the job began); cancel the job");
}

class SqliteJobStore final : public JobStore {
 public:
  explicit SqliteJobStore(Connections* conns) : conns_(conns) {}

  StatusOr<JobPlan> PlanJob(const JobSpec& spec) override {
    REPRISE_ASSIGN_OR_RETURN(auto sel, SelectionFor(spec));
    REPRISE_ASSIGN_OR_RETURN(auto other, SelectionFor(spec, SelectionPart::kOtherDirection));
    REPRISE_ASSIGN_OR_RETURN(auto resolved, SelectionFor(spec, SelectionPart::kResolved));
    REPRISE_ASSIGN_OR_RETURN(auto older, SelectionFor(spec, SelectionPart::kOlder));
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    JobPlan plan;

    Stmt totals;
    REPRISE_RETURN_IF_ERROR(totals.Prepare(
        r.db(), "SELECT count(*), count(DISTINCT message_key) FROM (" + sel.sql + ")"));
    BindAll(totals, sel.params);
    if (int rc = sqlite3_step(totals.get()); rc != SQLITE_ROW) return SqliteError(r.db(), rc, "plan job");
    plan.messages = static_cast<uint64_t>(sqlite3_column_int64(totals.get(), 0));
    plan.keys = static_cast<uint64_t>(sqlite3_column_int64(totals.get(), 1));

    for (auto [part, out] : {std::pair{&other, &plan.excluded}, std::pair{&resolved, &plan.resolved},
                             std::pair{&older, &plan.older}}) {
      Stmt left_out;
      REPRISE_RETURN_IF_ERROR(left_out.Prepare(r.db(), "SELECT count(*) FROM (" + part->sql + ")"));
      BindAll(left_out, part->params);
      if (int rc = sqlite3_step(left_out.get()); rc != SQLITE_ROW) return SqliteError(r.db(), rc, "plan job");
      *out = static_cast<uint64_t>(sqlite3_column_int64(left_out.get(), 0));
    }

    for (auto [group, out] :
         {std::pair{std::string("channel"), &plan.by_channel}, std::pair{OutcomeNameSql(), &plan.by_outcome}}) {
      Stmt by;
      REPRISE_RETURN_IF_ERROR(by.Prepare(r.db(), "SELECT " + group + " AS g, count(*) AS n FROM (" +
                                                     sel.sql + ") GROUP BY g ORDER BY n DESC, g"));
      BindAll(by, sel.params);
      int rc;
      while ((rc = sqlite3_step(by.get())) == SQLITE_ROW) {
        out->push_back({ColumnText(by.get(), 0), static_cast<uint64_t>(sqlite3_column_int64(by.get(), 1))});
      }
      if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "plan job");
    }

    Stmt sample;
    REPRISE_RETURN_IF_ERROR(sample.Prepare(
        r.db(), "SELECT " + Columns() + " FROM messages WHERE id IN (SELECT id FROM (" +
                    sel.sql + ") LIMIT " + std::to_string(kJobSampleSize) + ") ORDER BY id"));
    BindAll(sample, sel.params);
    int rc;
    while ((rc = sqlite3_step(sample.get())) == SQLITE_ROW) {
      plan.sample.push_back(ReadMessage(sample.get(), false));
    }
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "plan job");
    return plan;
  }

  StatusOr<JobRecord> CreateJob(const JobSpec& spec, const std::string& instance) override {
    REPRISE_ASSIGN_OR_RETURN(auto sel, SelectionFor(spec));
    auto w = conns_->LockWriter();
    return InWriteTransaction(w.db(), "job", [&] { return CreateInTransaction(w.db(), spec, instance, sel); });
  }

  StatusOr<JobRecord> GetJob(std::string_view id) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(id));
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    REPRISE_ASSIGN_OR_RETURN(auto jobs, SelectJobs(r.db(), "WHERE id = " + std::to_string(n)));
    if (jobs.empty()) return JobNotFound(id);
    JobRecord& job = jobs.front();
    if (job.changed > 0) {
      // Without planner statistics SQLite would walk all of the job's items
      // by primary key; the partial index holds only the changed ones.
      Stmt keys;
      REPRISE_RETURN_IF_ERROR(keys.Prepare(
          r.db(), "SELECT message_key FROM job_items INDEXED BY job_items_changed "
                  "WHERE job_id = ?1 AND changed = 1 ORDER BY seq LIMIT ?2"));
      keys.BindInt(1, n);
      keys.BindInt(2, static_cast<int64_t>(kChangedKeysSample));
      int rc;
      while ((rc = sqlite3_step(keys.get())) == SQLITE_ROW) job.changed_keys.push_back(ColumnText(keys.get(), 0));
      if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "read job");
    }
    return std::move(job);
  }

  StatusOr<std::vector<JobRecord>> ListJobs(uint32_t limit) override {
    if (limit == 0) limit = 20;
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    return SelectJobs(r.db(), "ORDER BY id DESC LIMIT " + std::to_string(std::min<uint32_t>(limit, 1000)));
  }

  StatusOr<std::vector<JobRecord>> UnfinishedJobs() override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    return SelectJobs(r.db(), "WHERE state IN (1, 2) ORDER BY id");
  }

  StatusOr<std::vector<JobItem>> ClaimItems(std::string_view job_id, const ItemClaim& claim) override {
    return Claim(job_id, claim, {});
  }

  StatusOr<std::vector<JobItem>> ClaimPeekedItems(std::string_view job_id, const ItemClaim& claim,
                                                  std::vector<JobItem> peeked) override {
    return Claim(job_id, claim, std::move(peeked));
  }

  StatusOr<std::vector<JobItem>> PeekItems(std::string_view job_id, const ItemClaim& claim) override {
    // A fleet member picks keys when it claims. In memory the reader is the
    // writer: reading ahead would only hold up the copies' commit.
    if (claim.share > 1 || conns_->path() == ":memory:") return std::vector<JobItem>{};
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    // One read transaction: the solo claim and the items as of one moment.
    REPRISE_RETURN_IF_ERROR(Exec(r.db(), "BEGIN"));
    auto items = [&]() -> StatusOr<std::vector<JobItem>> {
      REPRISE_ASSIGN_OR_RETURN(auto solo, ReadSoloClaim(r.db(), n));
      REPRISE_ASSIGN_OR_RETURN(auto held,
                               HeldBySolo(r.db(), n, solo, /*own_done=*/solo.HeldBy(claim.instance)));
      Stmt scan;
      REPRISE_RETURN_IF_ERROR(scan.Prepare(r.db(), ClaimableSql(/*with_messages=*/true, /*own_done=*/true)));
      scan.BindInt(1, n);
      scan.BindInt(2, held.ScanLimit(claim.max));
      scan.BindOptionalText(3, claim.instance);
      std::vector<JobItem> out;
      std::vector<std::string> keys;
      REPRISE_RETURN_IF_ERROR(
          ReadClaimable(r.db(), scan, n, held, claim.max, /*with_messages=*/true, claim.max_bytes, out, keys));
      return out;
    }();
    if (!Exec(r.db(), "COMMIT").ok()) (void)Exec(r.db(), "ROLLBACK");  // never pooled mid-read
    return items;
  }

  Status CompleteItems(std::string_view job_id, std::string_view instance,
                       const std::vector<ItemResult>& results) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    if (results.empty()) return Status::Ok();
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    return InWriteTransaction(db, "completed job items", [&]() -> Status {
      // The instance's items: marked in flight for it, or pending in its
      // solo claim (seqs ?7 to ?8).
      REPRISE_ASSIGN_OR_RETURN(auto solo, ReadSoloClaim(db, n));
      const bool solo_mine = solo.HeldBy(instance);
      Stmt done;
      REPRISE_RETURN_IF_ERROR(done.Prepare(
          db, "UPDATE job_items SET state = 2, copy_id = ?3, outcome = ?4, changed = ?6, claimed_by = ?5 "
              "WHERE job_id = ?1 AND seq = ?2 AND "
              "((state = 1 AND claimed_by IS ?5) OR (state = 0 AND seq BETWEEN ?7 AND ?8))"));
      uint64_t count = 0, failed = 0, redelivered = 0, changed = 0;
      for (const ItemResult& r : results) {
        sqlite3_reset(done.get());
        done.BindInt(1, n);
        done.BindInt(2, r.seq);
        done.BindOptionalText(3, r.copy_id);
        done.BindInt(4, static_cast<int>(r.outcome));
        done.BindOptionalText(5, instance);
        done.BindInt(6, r.changed ? 1 : 0);
        done.BindInt(7, solo_mine ? solo.first : 1);
        done.BindInt(8, solo_mine ? solo.last : 0);
        if (int rc = sqlite3_step(done.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "complete job items");
        if (sqlite3_changes(db) == 0) continue;  // no longer ours
        ++count;
        if (r.outcome == Outcome::kFailed) ++failed;
        if (r.redelivery) ++redelivered;
        if (r.changed) ++changed;
      }
      if (solo_mine) {
        // Done with its range: the claim goes, and holds nothing meanwhile.
        REPRISE_ASSIGN_OR_RETURN(auto held, HeldBySolo(db, n, solo, /*own_done=*/false));
        if (held.keys.empty()) REPRISE_RETURN_IF_ERROR(WriteSoloClaim(db, n, SoloClaim{}));
      }
      return AddCounters(db, n, count, failed, redelivered, changed);
    });
  }

  Status ReleaseItems(std::string_view job_id, std::string_view instance,
                      const std::vector<int64_t>& seqs) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    if (seqs.empty()) return Status::Ok();
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    return InWriteTransaction(db, "released job items", [&]() -> Status {
      // The instance's solo claim becomes marks first (a range has no
      // holes): its pending items are marked in flight for it, then the
      // released ones go back to pending like any marked item.
      REPRISE_ASSIGN_OR_RETURN(auto solo, ReadSoloClaim(db, n));
      if (solo.HeldBy(instance)) {
        Stmt mark;
        REPRISE_RETURN_IF_ERROR(mark.Prepare(
            db, "UPDATE job_items INDEXED BY job_items_pending SET state = 1, claimed_by = ?2, lease_until = ?3 "
                "WHERE job_id = ?1 AND state = 0 AND seq BETWEEN ?4 AND ?5"));
        mark.BindInt(1, n);
        mark.BindText(2, instance);
        mark.BindInt(3, solo.lease_until);
        mark.BindInt(4, solo.first);
        mark.BindInt(5, solo.last);
        if (int rc = sqlite3_step(mark.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "release job items");
        REPRISE_RETURN_IF_ERROR(WriteSoloClaim(db, n, SoloClaim{}));
      }
      Stmt release;
      REPRISE_RETURN_IF_ERROR(release.Prepare(
          db, "UPDATE job_items SET state = 0, claimed_by = NULL, lease_until = NULL "
              "WHERE job_id = ?1 AND seq = ?2 AND state = 1 AND claimed_by IS ?3"));
      for (int64_t seq : seqs) {
        sqlite3_reset(release.get());
        release.BindInt(1, n);
        release.BindInt(2, seq);
        release.BindOptionalText(3, instance);
        if (int rc = sqlite3_step(release.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "release job items");
      }
      return Status::Ok();
    });
  }

  StatusOr<JobRecord> RenewLease(std::string_view job_id, std::string_view instance,
                                 std::chrono::milliseconds lease) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    return InWriteTransaction(db, "lease", [&]() -> StatusOr<JobRecord> {
      // One end for the marked items and the solo range alike.
      const int64_t until = NowUs() + lease.count() * 1000;
      Stmt renew;
      REPRISE_RETURN_IF_ERROR(renew.Prepare(
          db, "UPDATE job_items INDEXED BY job_items_in_flight SET lease_until = ?3 "
              "WHERE job_id = ?1 AND state = 1 AND claimed_by IS ?2"));
      renew.BindInt(1, n);
      renew.BindOptionalText(2, instance);
      renew.BindInt(3, until);
      if (int rc = sqlite3_step(renew.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "renew lease");
      Stmt renew_solo;
      REPRISE_RETURN_IF_ERROR(renew_solo.Prepare(
          db, "UPDATE jobs SET solo_lease_until = ?3 WHERE id = ?1 AND solo_by IS ?2 AND solo_by IS NOT NULL"));
      renew_solo.BindInt(1, n);
      renew_solo.BindOptionalText(2, instance);
      renew_solo.BindInt(3, until);
      if (int rc = sqlite3_step(renew_solo.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "renew lease");
      REPRISE_ASSIGN_OR_RETURN(auto got, SelectJobs(db, "WHERE id = " + std::to_string(n)));
      if (got.empty()) return JobNotFound(job_id);
      return std::move(got.front());
    });
  }

  Status SetJobState(std::string_view id, JobState state, std::string_view reason) override {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(id));
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        db, "UPDATE jobs SET state = ?2, end_reason = COALESCE(?3, end_reason), "
            "finished_at = CASE WHEN ?4 THEN ?5 ELSE finished_at END "
            "WHERE id = ?1 AND state NOT IN (3, 4, 5)"));
    s.BindInt(1, n);
    s.BindInt(2, static_cast<int>(state));
    s.BindOptionalText(3, reason);
    s.BindInt(4, IsFinal(state) ? 1 : 0);
    s.BindInt(5, NowUs());
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "set job state");
    if (sqlite3_changes(db) > 0) return Status::Ok();
    // Nothing changed: the job has already ended (final states stay), or it does not exist.
    REPRISE_ASSIGN_OR_RETURN(auto jobs, SelectJobs(db, "WHERE id = " + std::to_string(n)));
    return jobs.empty() ? JobNotFound(id) : Status::Ok();
  }

 private:
  // Pending items of job ?1 in selection order whose key has nothing in
  // flight, at most ?2: columns seq, redelivery, message_key, then with
  // `with_messages` the message and its payload. With `own_done`, items in
  // flight held by ?3 count as done: a peek made while they are delivered
  // reads what the claim after their completion will select.
  // The journal keeps no planner statistics (no ANALYZE), and without them
  // SQLite scans every item of the job by primary key, for every pending
  // item: quadratic in the job's size. Hence the INDEXED BY.
  static std::string ClaimableSql(bool with_messages, bool own_done) {
    return "SELECT i.seq, i.redelivery, i.message_key" +
           (with_messages ? ", " + Columns("m") + ", m.payload" : std::string()) +
           " FROM job_items i INDEXED BY job_items_pending " +
           (with_messages ? "LEFT JOIN messages m ON m.seq = i.message_seq AND m.id = i.message_id " : "") +
           "WHERE i.job_id = ?1 AND i.state = 0 AND NOT EXISTS (SELECT 1 FROM job_items f "
           "INDEXED BY job_items_in_flight "
           "WHERE f.job_id = ?1 AND f.state = 1 AND f.message_key IS i.message_key" +
           (own_done ? " AND f.claimed_by IS NOT ?3" : "") + ") ORDER BY i.seq LIMIT ?2";
  }

  // Steps `scan` (ClaimableSql) until max_items, or, with messages, until
  // their payloads reach max_bytes (one item at least), passing over what
  // `held` holds; resets it.
  static Status ReadClaimable(sqlite3* db, Stmt& scan, int64_t job, const Held& held, size_t max_items,
                              bool with_messages, size_t max_bytes, std::vector<JobItem>& items,
                              std::vector<std::string>& keys) {
    size_t bytes = 0;
    int rc;
    while ((rc = sqlite3_step(scan.get())) == SQLITE_ROW) {
      JobItem item;
      item.seq = sqlite3_column_int64(scan.get(), 0);
      if (held.Holds(item.seq, ColumnText(scan.get(), 2))) continue;
      item.redelivery = sqlite3_column_int(scan.get(), 1) != 0;
      if (with_messages) {
        if (sqlite3_column_type(scan.get(), 3) == SQLITE_NULL) return MissingMessage(job, item.seq);
        item.message = ReadMessageAt(scan.get(), 3, true);
        bytes += item.message.payload.size();
      }
      items.push_back(std::move(item));
      keys.push_back(ColumnText(scan.get(), 2));
      if (items.size() >= max_items || (with_messages && bytes >= max_bytes)) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "claim job items");
    sqlite3_reset(scan.get());  // ends the read
    return Status::Ok();
  }

  // ClaimItems, taking first the longest prefix of `peeked` (PeekItems)
  // that its own scan selects now.
  StatusOr<std::vector<JobItem>> Claim(std::string_view job_id, const ItemClaim& claim,
                                       std::vector<JobItem> peeked) {
    REPRISE_ASSIGN_OR_RETURN(const int64_t n, JobNumber(job_id));
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    std::vector<JobItem> items;
    const int64_t now = NowUs();
    REPRISE_RETURN_IF_ERROR(InWriteTransaction(db, "claim", [&]() -> Status {
      // The solo claim left is live: its items are in flight for everyone.
      REPRISE_ASSIGN_OR_RETURN(auto solo, SettleAbandoned(db, n, now));
      REPRISE_ASSIGN_OR_RETURN(auto held, HeldBySolo(db, n, solo, /*own_done=*/false));
      // Pending items in selection order whose key has nothing in flight
      // (anything in flight now is held by a live instance); of those, a
      // fleet member takes its share of the keys (ClaimShare) and leaves the
      // rest to the others. The scan is bounded; a later claim goes further.
      // A lone instance takes the first claimable items and reads their
      // messages in the same pass; a fleet member first picks its share of
      // the keys, then reads those. Either stops at claim.max items or
      // claim.max_bytes of payloads (at least one item).
      const bool alone = claim.share <= 1;
      if (alone && !peeked.empty()) {
        // What the peek read, as long as it is what this claim selects:
        // anything that changed since (another instance's claim, an
        // abandoned item settled back to pending) makes the lists part.
        Stmt scan;
        REPRISE_RETURN_IF_ERROR(scan.Prepare(db, ClaimableSql(/*with_messages=*/false, /*own_done=*/false)));
        scan.BindInt(1, n);
        scan.BindInt(2, held.ScanLimit(peeked.size()));
        std::vector<JobItem> now_claimable;
        std::vector<std::string> keys;
        REPRISE_RETURN_IF_ERROR(
            ReadClaimable(db, scan, n, held, peeked.size(), /*with_messages=*/false, 0, now_claimable, keys));
        size_t same = 0;
        while (same < now_claimable.size() && now_claimable[same].seq == peeked[same].seq &&
               now_claimable[same].redelivery == peeked[same].redelivery) {
          ++same;
        }
        peeked.resize(same);
        items = std::move(peeked);
      }
      if (items.empty()) {
        Stmt scan;
        REPRISE_RETURN_IF_ERROR(scan.Prepare(db, ClaimableSql(/*with_messages=*/alone, /*own_done=*/false)));
        scan.BindInt(1, n);
        const size_t scanned = alone ? claim.max : claim.max * 16;
        scan.BindInt(2, held.ScanLimit(alone || !held.keys.empty() ? claim.max : scanned));
        std::vector<JobItem> candidates;
        std::vector<std::string> keys;
        REPRISE_RETURN_IF_ERROR(
            ReadClaimable(db, scan, n, held, scanned, alone, claim.max_bytes, candidates, keys));
        if (alone) {
          items = std::move(candidates);
        } else {
          for (size_t i : ClaimShare(keys, claim)) items.push_back(std::move(candidates[i]));
          REPRISE_RETURN_IF_ERROR(ReadMessages(db, n, claim.max_bytes, items));
        }
      }
      if (items.empty()) return Status::Ok();
      // Alone, with nothing of the job in flight or held, the items are the
      // job's first pending ones: a solo claim takes them in one write.
      // (An unnamed claimer, as in tests, marks its items: a solo claim
      // needs a name to be told from none.)
      if (alone && held.keys.empty() && !claim.instance.empty()) {
        REPRISE_ASSIGN_OR_RETURN(auto busy, AnyInFlight(db, n));
        if (!busy) {
          return WriteSoloClaim(db, n, {.by = claim.instance, .first = items.front().seq,
                                         .last = items.back().seq,
                                         .lease_until = now + claim.lease.count() * 1000});
        }
      }
      Stmt mark;
      REPRISE_RETURN_IF_ERROR(mark.Prepare(
          db, "UPDATE job_items SET state = 1, claimed_by = ?3, lease_until = ?4 "
              "WHERE job_id = ?1 AND seq = ?2"));
      for (const JobItem& item : items) {
        sqlite3_reset(mark.get());
        mark.BindInt(1, n);
        mark.BindInt(2, item.seq);
        mark.BindOptionalText(3, claim.instance);
        mark.BindInt(4, now + claim.lease.count() * 1000);
        if (int rc2 = sqlite3_step(mark.get()); rc2 != SQLITE_DONE) return SqliteError(db, rc2, "claim job items");
      }
      return Status::Ok();
    }));
    return items;
  }

  // Reads the messages of a fleet member's items, until their payloads
  // reach max_bytes (one item at least): the items past that are dropped.
  static Status ReadMessages(sqlite3* db, int64_t job, size_t max_bytes, std::vector<JobItem>& items) {
    Stmt read;
    REPRISE_RETURN_IF_ERROR(read.Prepare(
        db, std::string("SELECT ") + Columns("m") +
                ", m.payload FROM job_items i JOIN messages m ON m.seq = i.message_seq "
                "AND m.id = i.message_id WHERE i.job_id = ?1 AND i.seq = ?2"));
    size_t bytes = 0;
    for (size_t k = 0; k < items.size(); ++k) {
      sqlite3_reset(read.get());
      read.BindInt(1, job);
      read.BindInt(2, items[k].seq);
      if (int rc = sqlite3_step(read.get()); rc == SQLITE_DONE) {
        return MissingMessage(job, items[k].seq);
      } else if (rc != SQLITE_ROW) {
        return SqliteError(db, rc, "read job item");
      }
      items[k].message = ReadMessageAt(read.get(), 0, true);
      bytes += items[k].message.payload.size();
      if (bytes >= max_bytes) {
        items.resize(k + 1);
        break;
      }
    }
    return Status::Ok();
  }

  StatusOr<JobRecord> CreateInTransaction(sqlite3* db, const JobSpec& spec, const std::string& instance,
                                          const Selection& sel) {
    Stmt insert;
    REPRISE_RETURN_IF_ERROR(insert.Prepare(
        db, "INSERT INTO jobs (kind, filter, target, rate, concurrency, max_failures, item_limit, "
            "reason, created_by, instance, state, created_at, service, deriver, dry_run) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?12, ?13, ?14)"));
    insert.BindText(1, spec.kind);
    insert.BindText(2, spec.filter);
    insert.BindInt(3, static_cast<int>(spec.target));
    sqlite3_bind_double(insert.get(), 4, spec.rate);
    insert.BindInt(5, spec.concurrency);
    insert.BindInt(6, static_cast<int64_t>(spec.max_failures));
    insert.BindInt(7, static_cast<int64_t>(spec.limit));
    insert.BindOptionalText(8, spec.reason);
    insert.BindOptionalText(9, spec.created_by);
    insert.BindOptionalText(10, instance);
    insert.BindInt(11, NowUs());
    insert.BindOptionalText(12, spec.service);
    insert.BindOptionalText(13, spec.deriver);
    insert.BindInt(14, spec.dry_run ? 1 : 0);
    if (int rc = sqlite3_step(insert.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "create job");
    const int64_t job_id = sqlite3_last_insert_rowid(db);

    // The selection is fixed here, in the job's own transaction: messages
    // recorded later never join it.
    // Items are numbered here as the selection comes, in id order: SQLite's
    // row_number() sorted the whole selection again in a temporary B-tree
    // (a tenth of a 50,000-message reflow).
    Stmt selection, item;
    REPRISE_RETURN_IF_ERROR(selection.Prepare(db, sel.sql));
    BindAll(selection, sel.params);
    REPRISE_RETURN_IF_ERROR(item.Prepare(
        db, "INSERT INTO job_items (job_id, seq, message_id, message_key, message_seq) VALUES (?1, ?2, ?3, ?4, ?5)"));
    int64_t total = 0;
    int rc;
    while ((rc = sqlite3_step(selection.get())) == SQLITE_ROW) {
      sqlite3_reset(item.get());
      item.BindInt(1, job_id);
      item.BindInt(2, ++total);
      item.BindText(3, ColumnText(selection.get(), 0));
      item.BindText(4, ColumnText(selection.get(), 1));
      item.BindInt(5, sqlite3_column_int64(selection.get(), 4));
      if (int rc2 = sqlite3_step(item.get()); rc2 != SQLITE_DONE) return SqliteError(db, rc2, "select job items");
    }
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "select job items");
    if (spec.expect_total && *spec.expect_total != static_cast<uint64_t>(total)) {
      return SelectionChanged(*spec.expect_total, static_cast<uint64_t>(total));
    }

    Stmt set_total;
    REPRISE_RETURN_IF_ERROR(set_total.Prepare(db, "UPDATE jobs SET total = ?2 WHERE id = ?1"));
    set_total.BindInt(1, job_id);
    set_total.BindInt(2, total);
    if (int rc = sqlite3_step(set_total.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "create job");

    REPRISE_ASSIGN_OR_RETURN(auto jobs, SelectJobs(db, "WHERE id = " + std::to_string(job_id)));
    return std::move(jobs.front());
  }

  static StatusOr<bool> AnyInFlight(sqlite3* db, int64_t job) {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT 1 FROM job_items INDEXED BY job_items_in_flight WHERE job_id = ?1 AND state = 1 LIMIT 1"));
    q.BindInt(1, job);
    int rc = sqlite3_step(q.get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "read job items");
    return rc == SQLITE_ROW;
  }

  static StatusOr<SoloClaim> ReadSoloClaim(sqlite3* db, int64_t job) {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(
        q.Prepare(db, "SELECT solo_by, solo_first, solo_last, solo_lease_until FROM jobs WHERE id = ?1"));
    q.BindInt(1, job);
    SoloClaim solo;
    int rc = sqlite3_step(q.get());
    if (rc == SQLITE_ROW) {
      solo.by = ColumnText(q.get(), 0);
      solo.first = sqlite3_column_int64(q.get(), 1);
      solo.last = sqlite3_column_int64(q.get(), 2);
      solo.lease_until = sqlite3_column_int64(q.get(), 3);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, rc, "read solo claim");
    }
    return solo;
  }

  // Records `solo` on the job's row; an empty one drops the claim.
  static Status WriteSoloClaim(sqlite3* db, int64_t job, const SoloClaim& solo) {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(
        db, "UPDATE jobs SET solo_by = ?2, solo_first = ?3, solo_last = ?4, solo_lease_until = ?5 WHERE id = ?1"));
    q.BindInt(1, job);
    q.BindOptionalText(2, solo.by);
    q.BindInt(3, solo.first);
    q.BindInt(4, solo.last);
    q.BindInt(5, solo.lease_until);
    if (int rc = sqlite3_step(q.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "write solo claim");
    return Status::Ok();
  }

  static StatusOr<bool> IsLiveInstance(sqlite3* db, const std::string& id) {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(db, "SELECT 1 FROM instances WHERE id = ?1 AND state = 1"));
    q.BindText(1, id);
    int rc = sqlite3_step(q.get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "read instances");
    return rc == SQLITE_ROW;
  }

  // What a solo claim holds: its items still pending and, as for any item in
  // flight, every later item of their keys. An instance's peek skips its
  // own solo claim's items (`own_done`) but not their keys.
  static StatusOr<Held> HeldBySolo(sqlite3* db, int64_t job, const SoloClaim& solo, bool own_done) {
    Held held;
    if (solo.by.empty()) return held;
    held.first = solo.first;
    held.last = solo.last;
    if (own_done) return held;
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT message_key FROM job_items INDEXED BY job_items_pending "
            "WHERE job_id = ?1 AND state = 0 AND seq BETWEEN ?2 AND ?3"));
    q.BindInt(1, job);
    q.BindInt(2, solo.first);
    q.BindInt(3, solo.last);
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) held.keys.insert(ColumnText(q.get(), 0));
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "read solo claim");
    if (held.keys.empty()) held = Held{};  // all done: it holds nothing
    return held;
  }

  // Items in flight whose lease ran out or whose claimer is no live instance
  // (it died, or never registered): a copy recorded with a final outcome
  // finished before the claimer went away, so the item is completed; one
  // with a copy still pending may or may not have reached the handler or
  // downstream, so it goes back to pending, marked redelivery; one without a
  // copy was never dispatched and goes back as it was.
  // A solo claim (SoloClaim) is settled the same way, item by item, and
  // then dropped. Returns the job's solo claim that is left (a live one, or
  // none).
  StatusOr<SoloClaim> SettleAbandoned(sqlite3* db, int64_t job, int64_t now) {
    // Items read through `index`, each with its newest copy made by job ?2, if any.
    auto with_index = [](const char* index) {
      return std::string("SELECT i.seq, i.redelivery, c.id, c.outcome FROM job_items i INDEXED BY ") + index +
             " LEFT JOIN messages c ON c.id = (SELECT id FROM messages INDEXED BY messages_by_origin "
             "WHERE origin_id = i.message_id AND job_id = ?2 ORDER BY id DESC LIMIT 1) ";
    };
    Stmt select;
    REPRISE_RETURN_IF_ERROR(select.Prepare(
        db, with_index("job_items_in_flight") +
                "WHERE i.job_id = ?1 AND i.state = 1 AND (i.lease_until IS NULL OR i.lease_until < ?3 "
                "OR i.claimed_by IS NULL OR i.claimed_by NOT IN (SELECT id FROM instances WHERE state = 1)) "
                "ORDER BY i.seq"));
    select.BindInt(1, job);
    select.BindText(2, std::to_string(job));
    select.BindInt(3, now);
    struct Row { int64_t seq; bool redelivery; std::string copy; int outcome; bool solo = false; };
    std::vector<Row> rows;
    auto read_rows = [&](Stmt& q) -> Status {
      int rc;
      while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
        rows.push_back({sqlite3_column_int64(q.get(), 0), sqlite3_column_int(q.get(), 1) != 0,
                        ColumnText(q.get(), 2), sqlite3_column_int(q.get(), 3)});
      }
      sqlite3_reset(q.get());
      return rc == SQLITE_DONE ? Status::Ok() : SqliteError(db, rc, "settle abandoned job items");
    };
    REPRISE_RETURN_IF_ERROR(read_rows(select));
    REPRISE_ASSIGN_OR_RETURN(auto solo, ReadSoloClaim(db, job));
    bool solo_abandoned = false;
    if (!solo.by.empty()) {
      REPRISE_ASSIGN_OR_RETURN(auto live, IsLiveInstance(db, solo.by));
      solo_abandoned = solo.lease_until < now || !live;
    }
    if (solo_abandoned) {
      Stmt range;
      REPRISE_RETURN_IF_ERROR(range.Prepare(
          db, with_index("job_items_pending") + "WHERE i.job_id = ?1 AND i.state = 0 AND i.seq BETWEEN ?3 AND ?4"));
      range.BindInt(1, job);
      range.BindText(2, std::to_string(job));
      range.BindInt(3, solo.first);
      range.BindInt(4, solo.last);
      const size_t marked = rows.size();
      REPRISE_RETURN_IF_ERROR(read_rows(range));
      for (size_t k = marked; k < rows.size(); ++k) rows[k].solo = true;
      REPRISE_RETURN_IF_ERROR(WriteSoloClaim(db, job, SoloClaim{}));
    }
    const SoloClaim left = solo_abandoned ? SoloClaim{} : solo;
    if (rows.empty()) return left;
    Stmt done, again;
    // claimed_by says who delivered it: a solo claim's items had none yet.
    REPRISE_RETURN_IF_ERROR(done.Prepare(
        db, "UPDATE job_items SET state = 2, copy_id = ?3, outcome = ?4, "
            "claimed_by = CASE WHEN ?5 IS NULL THEN claimed_by ELSE ?5 END WHERE job_id = ?1 AND seq = ?2"));
    REPRISE_RETURN_IF_ERROR(again.Prepare(
        db, "UPDATE job_items SET state = 0, redelivery = redelivery OR ?3, claimed_by = NULL, "
            "lease_until = NULL WHERE job_id = ?1 AND seq = ?2"));
    uint64_t count = 0, failed = 0, redelivered = 0;
    for (const Row& row : rows) {
      bool finished = !row.copy.empty() && row.outcome != static_cast<int>(Outcome::kPending);
      Stmt& s = finished ? done : again;
      sqlite3_reset(s.get());
      s.BindInt(1, job);
      s.BindInt(2, row.seq);
      if (!finished) {
        // A copy is recorded before its dispatch (committed first in process
        // and power durability): without one, the item never left (in async
        // durability: as far as the journal knows).
        s.BindInt(3, row.copy.empty() ? 0 : 1);
      } else {
        s.BindText(3, row.copy);
        s.BindInt(4, row.outcome);
        s.BindOptionalText(5, row.solo ? solo.by : "");
        ++count;
        if (row.outcome == static_cast<int>(Outcome::kFailed)) ++failed;
        if (row.redelivery) ++redelivered;
      }
      if (int rc2 = sqlite3_step(s.get()); rc2 != SQLITE_DONE) return SqliteError(db, rc2, "settle abandoned job items");
    }
    REPRISE_RETURN_IF_ERROR(AddCounters(db, job, count, failed, redelivered));
    return left;
  }

  Status AddCounters(sqlite3* db, int64_t job, uint64_t done, uint64_t failed, uint64_t redelivered,
                     uint64_t changed = 0) {
    if (done == 0) return Status::Ok();
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(
        db, "UPDATE jobs SET done = done + ?2, failed = failed + ?3, redelivered = redelivered + ?4, "
            "changed = changed + ?5 WHERE id = ?1"));
    s.BindInt(1, job);
    s.BindInt(2, static_cast<int64_t>(done));
    s.BindInt(3, static_cast<int64_t>(failed));
    s.BindInt(4, static_cast<int64_t>(redelivered));
    s.BindInt(5, static_cast<int64_t>(changed));
    if (int rc = sqlite3_step(s.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "update job counters");
    return Status::Ok();
  }

  StatusOr<std::vector<JobRecord>> SelectJobs(sqlite3* db, const std::string& tail) {
    Stmt s;
    REPRISE_RETURN_IF_ERROR(s.Prepare(db, std::string("SELECT ") + kJobColumns + " FROM jobs " + tail));
    std::vector<JobRecord> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(ReadJob(s.get()));
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "read jobs");
    return out;
  }

  Connections* const conns_;
};

}  // namespace

std::unique_ptr<JobStore> NewSqliteJobStore(Connections* conns) {
  return std::make_unique<SqliteJobStore>(conns);
}

}  // namespace reprise
