// The SQLite journal: messages and schema migrations. Connections live in
// sqlite/connections.cc, job storage in sqlite/jobs.cc.
#include "sqlite/journal.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <vector>

#include "lineage.h"
#include "reprise/base/ulid.h"
#include "reprise/store/filter.h"
#include "resolution.h"
#include "sqlite/audit.h"
#include "sqlite/batch_table.h"
#include "sqlite/connections.h"
#include "sqlite/flows.h"
#include "sqlite/instances.h"
#include "sqlite/jobs.h"
#include "sqlite/key_runs.h"
#include "sqlite/util.h"

namespace reprise {
namespace {

using namespace sqlite;  // NOLINT: this file is the journal's SQLite code

constexpr int kSchemaVersion = 15;

// The columns for listings without payloads: payload_size saves reading the
// payload. The subquery runs only for a row written without payload_size
// (by hand, not by the journal).
std::string ListColumns() {
  return MessageColumns(
      "", "COALESCE(payload_size, (SELECT length(p.payload) FROM messages AS p WHERE p.seq = messages.seq))");
}

// Schema migrations, applied in order; index i brings the schema to version i+1.
// v8 (the key index in runs) and v12 (its entries without the message id,
// merged thirty-two to one), nullptr here, are built for the journal's size
// by KeyRunsMigration and KeyEntriesWithoutIdMigration.
const char* const kMigrations[] = {
    // v1: messages and the indexes behind the filter fields.
    R"sql(
    CREATE TABLE messages (
      seq            INTEGER PRIMARY KEY,
      id             TEXT    NOT NULL UNIQUE,
      direction      INTEGER NOT NULL,
      channel        TEXT    NOT NULL,
      message_key    TEXT    NOT NULL,
      correlation_id TEXT,
      causation_id   TEXT,
      headers        TEXT,
      payload        BLOB,
      content_type   TEXT,
      recorded_at    INTEGER NOT NULL,
      outcome        INTEGER NOT NULL,
      error          TEXT,
      attempt        INTEGER NOT NULL DEFAULT 1,
      origin_id      TEXT,
      job_id         TEXT,
      flow_variant   TEXT
    );
    CREATE INDEX messages_by_channel ON messages (channel, id);
    CREATE INDEX messages_by_key ON messages (message_key, id);
    CREATE INDEX messages_by_outcome ON messages (outcome, id);
    CREATE INDEX messages_by_correlation ON messages (correlation_id) WHERE correlation_id IS NOT NULL;
    CREATE INDEX messages_by_causation ON messages (causation_id) WHERE causation_id IS NOT NULL;
    CREATE INDEX messages_by_origin ON messages (origin_id) WHERE origin_id IS NOT NULL;
    CREATE INDEX messages_by_job ON messages (job_id) WHERE job_id IS NOT NULL;
    )sql",
    // v2: jobs and their fixed selections.
    R"sql(
    CREATE TABLE jobs (
      id            INTEGER PRIMARY KEY AUTOINCREMENT,
      kind          TEXT    NOT NULL,
      filter        TEXT    NOT NULL,
      target        INTEGER NOT NULL,
      rate          REAL    NOT NULL DEFAULT 0,
      concurrency   INTEGER NOT NULL DEFAULT 1,
      max_failures  INTEGER NOT NULL DEFAULT 0,
      item_limit    INTEGER NOT NULL DEFAULT 0,
      reason        TEXT,
      created_by    TEXT,
      instance      TEXT,
      state         INTEGER NOT NULL,
      end_reason    TEXT,
      total         INTEGER NOT NULL DEFAULT 0,
      done          INTEGER NOT NULL DEFAULT 0,
      failed        INTEGER NOT NULL DEFAULT 0,
      redelivered   INTEGER NOT NULL DEFAULT 0,
      created_at    INTEGER NOT NULL,
      finished_at   INTEGER
    );
    CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN (1, 2);
    -- One row per selected message; state 0 pending, 1 in flight, 2 done.
    CREATE TABLE job_items (
      job_id      INTEGER NOT NULL,
      seq         INTEGER NOT NULL,
      message_id  TEXT    NOT NULL,
      state       INTEGER NOT NULL DEFAULT 0,
      redelivery  INTEGER NOT NULL DEFAULT 0,
      copy_id     TEXT,
      outcome     INTEGER,
      PRIMARY KEY (job_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX job_items_by_state ON job_items (job_id, state, seq);
    )sql",
    // v3: the audit trail, append-only.
    R"sql(
    CREATE TABLE audit (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      at          INTEGER NOT NULL,
      who         TEXT    NOT NULL,
      action      TEXT    NOT NULL,
      request     TEXT    NOT NULL,
      result_code INTEGER NOT NULL,
      result      TEXT    NOT NULL,
      instance    TEXT
    );
    CREATE INDEX audit_by_action ON audit (action, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
      BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
      BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
    )sql",
    // v4: flows, their per-key assignments and their versioned history.
    R"sql(
    CREATE TABLE flows (
      name            TEXT    PRIMARY KEY,
      variants        TEXT    NOT NULL,
      default_variant TEXT    NOT NULL,
      rollout_variant TEXT,
      rollout_percent REAL    NOT NULL DEFAULT 0,
      version         INTEGER NOT NULL,
      updated_at      INTEGER NOT NULL,
      updated_by      TEXT,
      reason          TEXT
    );
    CREATE TABLE flow_assignments (
      flow            TEXT    NOT NULL,
      assignment_key  TEXT    NOT NULL,
      variant         TEXT    NOT NULL,
      version         INTEGER NOT NULL,
      PRIMARY KEY (flow, assignment_key)
    ) WITHOUT ROWID;
    CREATE TABLE flow_history (
      id       INTEGER PRIMARY KEY AUTOINCREMENT,
      flow     TEXT    NOT NULL,
      version  INTEGER NOT NULL,
      at       INTEGER NOT NULL,
      who      TEXT,
      reason   TEXT,
      change   TEXT    NOT NULL
    );
    CREATE INDEX flow_history_by_flow ON flow_history (flow, version);
    )sql",
    // v5: the fleet: registered instances, jobs shared by a service's
    // instances, and items claimed with a lease.
    R"sql(
    CREATE TABLE instances (
      id            TEXT    PRIMARY KEY,
      service       TEXT    NOT NULL,
      host          TEXT    NOT NULL,
      pid           INTEGER NOT NULL,
      address       TEXT,
      agent_version TEXT,
      api_version   TEXT,
      started_at    INTEGER NOT NULL,
      heartbeat_at  INTEGER NOT NULL,
      state         INTEGER NOT NULL,
      gone_reason   TEXT
    ) WITHOUT ROWID;
    CREATE INDEX instances_by_service ON instances (service, state);
    ALTER TABLE jobs ADD COLUMN service TEXT;
    ALTER TABLE job_items ADD COLUMN message_key TEXT;
    ALTER TABLE job_items ADD COLUMN claimed_by TEXT;
    ALTER TABLE job_items ADD COLUMN lease_until INTEGER;
    UPDATE job_items SET message_key =
      (SELECT message_key FROM messages WHERE messages.id = job_items.message_id);
    CREATE INDEX job_items_in_flight ON job_items (job_id, message_key, seq) WHERE state = 1;
    )sql",
    // v6: re-derive jobs (one item per key) and their outcomes.
    R"sql(
    ALTER TABLE jobs ADD COLUMN deriver TEXT;
    ALTER TABLE jobs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE job_items ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX job_items_changed ON job_items (job_id, seq) WHERE changed = 1;
    )sql",
    // v7: a key's messages read from the key index alone. A key's rows sit on
    // as many random table pages as it has messages; on a journal larger than
    // memory each is a disk read (10 messages: ~5 ms cold). The index now
    // carries every column a listing shows, payload_size included (recorded
    // with the row instead of length(payload), which needs the row), so one
    // index leaf holds a key's first page. Filling payload_size rewrites the
    // table once: minutes on a journal of millions of messages.
    R"sql(
    ALTER TABLE messages ADD COLUMN payload_size INTEGER;
    DROP INDEX messages_by_key;
    UPDATE messages SET payload_size = length(payload);
    CREATE INDEX messages_by_key ON messages (message_key, id, direction, channel, correlation_id,
      causation_id, headers, content_type, recorded_at, outcome, error, attempt, origin_id, job_id,
      flow_variant, payload_size);
    )sql",
    nullptr,  // v8: KeyRunsMigration
    // v9: cheaper rows to write. The outcome index holds only the outcomes a
    // query looks for (pending, failed, skipped): ok rows, most of them,
    // cost one index entry less (the filter compiler states the condition,
    // see filter::CompileOptions). Job items keep their message's seq, so a
    // claim reads the message by rowid rather than through the id index.
    R"sql(
    DROP INDEX messages_by_outcome;
    CREATE INDEX messages_by_outcome ON messages (outcome, id) WHERE outcome <> 2;  -- sqlite::kIndexedOutcomes
    ALTER TABLE job_items ADD COLUMN message_seq INTEGER;
    UPDATE job_items SET message_seq = (SELECT seq FROM messages WHERE messages.id = job_items.message_id);
    )sql",
    // v10: job items cheaper to move. An item changes state twice (claimed,
    // then done), and an index of every item by state moved its entry both
    // times and kept the done ones. Pending items now have an index of
    // their own beside the one of items in flight (job_items_in_flight): a
    // claim moves an item's entry from one to the other, its completion
    // drops it.
    R"sql(
    DROP INDEX job_items_by_state;
    CREATE INDEX job_items_pending ON job_items (job_id, seq) WHERE state = 0;
    )sql",
    // v11: solo claims. A lone instance claims the job's first pending
    // items as one range on the job's row; they are written once, when done
    // (SoloClaim in sqlite/jobs.cc).
    R"sql(
    ALTER TABLE jobs ADD COLUMN solo_by TEXT;
    ALTER TABLE jobs ADD COLUMN solo_first INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN solo_last INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN solo_lease_until INTEGER NOT NULL DEFAULT 0;
    )sql",
    nullptr,  // v12: KeyEntriesWithoutIdMigration. The seq orders a key's
              // entries as well as the id did and is an integer: an entry is
              // about half the bytes to write, merge and compare.
    // v13: roots out of the correlation index. A message that starts a
    // conversation (every inbound one the agent records) is its own
    // correlation; its entry repeated the id index's. The filter compiler
    // asks for such messages through the id index (CorrelationThroughIndexes
    // in filter/compiler.cc). The index is rebuilt from the table: about
    // 22 s on a journal of ten million messages, at the first open.
    R"sql(
    DROP INDEX messages_by_correlation;
    CREATE INDEX messages_by_correlation ON messages (correlation_id) WHERE correlation_id <> id;  -- sqlite::kCorrelationIndexCondition
    )sql",
    // v14: resolution (store/resolution.h). resolved_by names the message
    // that resolved a row; the journal keeps it when it records an ok. The
    // index holds the unresolved rows of the outcome index, so that
    // `outcome = failed and not resolved` reads as few entries as
    // `outcome = failed` (the filter compiler states both conditions).
    // Messages with an ok copy (or copy of a copy) from before get the
    // first such copy.
    R"sql(
    ALTER TABLE messages ADD COLUMN resolved_by TEXT;
    CREATE TEMP TABLE resolutions AS
      WITH RECURSIVE up(target, copy, depth) AS (
        SELECT origin_id, id, 0 FROM messages WHERE origin_id IS NOT NULL AND outcome = 2
        UNION ALL SELECT m.origin_id, up.copy, up.depth + 1 FROM up JOIN messages m ON m.id = up.target
          WHERE m.origin_id IS NOT NULL AND up.depth < 64)
      SELECT target, min(copy) AS copy FROM up GROUP BY target;
    UPDATE messages SET resolved_by = (SELECT copy FROM resolutions WHERE target = messages.id)
      WHERE id IN (SELECT target FROM resolutions);
    DROP TABLE resolutions;
    CREATE INDEX messages_unresolved ON messages (outcome, id) WHERE outcome <> 2 AND resolved_by IS NULL;
    )sql",
    // v15: a transport delivery's attempts by channel and the transport's
    // own id (Attempts, sqlite::kAttemptsFromWhere): only rows that carry one.
    R"sql(
    CREATE INDEX messages_by_transport_id ON messages (channel, json_extract(headers, '$."reprise-transport-id"'))
      WHERE json_extract(headers, '$."reprise-transport-id"') IS NOT NULL;
    )sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

class SqliteJournal final : public Journal {
 public:
  explicit SqliteJournal(std::unique_ptr<Connections> conns)
      : conns_(std::move(conns)),
        jobs_(NewSqliteJobStore(conns_.get())),
        audit_(NewSqliteAuditStore(conns_.get())),
        flows_(NewSqliteFlowStore(conns_.get())),
        instances_(NewSqliteInstanceStore(conns_.get())) {}
  ~SqliteJournal() override {
    auto w = conns_->LockWriter();
    update_.reset();
    resolve_.reset();
    run_insert_.reset();
    batch_insert_.reset();
    batch_keys_.reset();
    last_seq_.reset();
  }

  Status Init() {
    auto w = conns_->LockWriter();
    REPRISE_RETURN_IF_ERROR(Migrate(w.db()));
    run_insert_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(run_insert_->Prepare(w.db(), "INSERT OR IGNORE INTO key_runs VALUES (?1)"));
    // A batch's rows and key entries, a statement each. OR ROLLBACK: a row
    // the journal refuses ends the whole transaction, as Write would anyway,
    // and SQLite then keeps no statement journal (the pages' old contents,
    // spilled to a temporary file past 64 KiB) to undo the statement alone:
    // that cost a `process` commit of 16 rows about 40% of its rate.
    REPRISE_RETURN_IF_ERROR(sqlite::RegisterBatchTable(w.db(), &batch_rows_));
    batch_insert_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(batch_insert_->Prepare(w.db(), std::string("INSERT OR ROLLBACK INTO messages (") +
                                                               sqlite::kBatchColumns + ") SELECT " +
                                                               sqlite::kBatchColumns + " FROM reprise_batch"));
    // The batch's rows take consecutive seqs from ?1 on (see InsertBatch).
    batch_keys_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(batch_keys_->Prepare(
        w.db(), "INSERT OR ROLLBACK INTO message_keys (run, message_key, seq) SELECT " +
                    sqlite::LevelZeroRunSql(key_layout_, "?1 + ordinal") +
                    ", message_key, ?1 + ordinal FROM reprise_batch"));
    last_seq_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(last_seq_->Prepare(w.db(), kLastSeq));
    update_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(update_->Prepare(
        w.db(),
        "UPDATE messages SET outcome = ?2, error = ?3, flow_variant = COALESCE(?4, flow_variant) "
        "WHERE id = ?1 RETURNING " + ResolveTargetSql(filter::Dialect::kSqlite)));
    resolve_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(resolve_->Prepare(w.db(), ResolveSql(filter::Dialect::kSqlite)));
    return Status::Ok();
  }

  std::string Describe() const override {
    return "sqlite:" + conns_->path() + (conns_->vfs().empty() ? "" : "?vfs=" + conns_->vfs());
  }
  JobStore& jobs() override { return *jobs_; }
  AuditStore& audit() override { return *audit_; }
  FlowStore& flows() override { return *flows_; }
  InstanceStore& instances() override { return *instances_; }
  int SchemaVersion() const override { return kSchemaVersion; }

  Status Write(const WriteBatch& batch, bool sync) override {
    if (batch.empty()) return Status::Ok();
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    if (sync != synchronous_full_) {
      // WAL + NORMAL survives a crash of the process; FULL also fsyncs the
      // WAL on every commit, which survives power loss.
      REPRISE_RETURN_IF_ERROR(
          Exec(db, sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
      synchronous_full_ = sync;
    }
    REPRISE_RETURN_IF_ERROR(InWriteTransaction(db, "messages", [&] { return WriteInTransaction(db, batch); }));
    CompactKeyIndex(db, batch.messages.size());
    return Status::Ok();
  }

  StatusOr<MessagePage> List(const ListQuery& query) override {
    REPRISE_ASSIGN_OR_RETURN(auto compiled, filter::Compile(query.filter, {filter::Dialect::kSqlite, NowUs(),
                                                                           1, /*sqlite_journal=*/true}));
    if (!query.page_token.empty() && !IsUlid(query.page_token)) {
      return InvalidArgument("page_token \"" + query.page_token +
                             "\" is not one this journal issued; start again without it");
    }
    uint32_t page_size = std::clamp<uint32_t>(query.page_size == 0 ? 50 : query.page_size, 1,
                                              kMaxPageSize);
    const int n = static_cast<int>(compiled.params.size());
    std::string sql = std::string("SELECT ") +
                      (query.with_payload ? Columns() + ", payload" : ListColumns()) +
                      FromMessages(compiled.keyed) + " WHERE (" + compiled.where + ")";
    if (query.originals_only) sql += " AND origin_id IS NULL";
    const char* cmp = query.oldest_first ? " > " : " < ";
    if (!query.page_token.empty()) sql += " AND id" + std::string(cmp) + "?" + std::to_string(n + 1);
    sql += query.oldest_first ? " ORDER BY id ASC" : " ORDER BY id DESC";
    sql += " LIMIT " + std::to_string(page_size + 1);

    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(r.db(), sql));
    for (int i = 0; i < n; ++i) stmt.BindValue(i + 1, compiled.params[i]);
    if (!query.page_token.empty()) stmt.BindText(n + 1, query.page_token);

    MessagePage page;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      if (page.messages.size() == page_size) {
        page.next_page_token = page.messages.back().id;
        break;
      }
      page.messages.push_back(ReadMessage(stmt.get(), query.with_payload));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(r.db(), rc, "list messages");
    return page;
  }

  StatusOr<MessageLineage> Get(std::string_view id) override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    return ReadLineage(id, [&](std::string_view column, std::string_view value, bool with_payload, int limit) {
      return SelectWhere(r.db(), column, value, with_payload, limit);
    });
  }

  StatusOr<std::vector<CountRow>> Count(std::string_view filter_text,
                                        std::string_view group_by) override {
    REPRISE_ASSIGN_OR_RETURN(auto compiled, filter::Compile(filter_text, {filter::Dialect::kSqlite, NowUs(),
                                                                          1, /*sqlite_journal=*/true}));
    std::vector<filter::SqlValue> params = compiled.params;
    std::string sql;
    if (group_by.empty()) {
      sql = std::string("SELECT '', count(*)") + FromMessages(compiled.keyed) + " WHERE (" +
            compiled.where + ")";
    } else {
      REPRISE_ASSIGN_OR_RETURN(auto group,
                               filter::CompileGroupBy(group_by, {filter::Dialect::kSqlite, NowUs(),
                                                                 static_cast<int>(params.size()) + 1}));
      params.insert(params.end(), group.params.begin(), group.params.end());
      sql = "SELECT " + group.where + " AS g, count(*) AS n" + FromMessages(compiled.keyed) + " WHERE (" +
            compiled.where + ") GROUP BY g ORDER BY n DESC, g LIMIT 1000";
    }
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(r.db(), sql));
    for (size_t i = 0; i < params.size(); ++i) stmt.BindValue(static_cast<int>(i) + 1, params[i]);
    std::vector<CountRow> rows;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      rows.push_back({ColumnText(stmt.get(), 0),
                      static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 1))});
    }
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "count messages");
    return rows;
  }

  StatusOr<std::vector<std::string>> Keys(std::string_view filter_text, size_t max) override {
    REPRISE_ASSIGN_OR_RETURN(auto compiled, filter::Compile(filter_text, {filter::Dialect::kSqlite, NowUs(),
                                                                          1, /*sqlite_journal=*/true}));
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    // Without a filter the key index alone answers (a narrow table, though
    // read whole: keys are sorted within each run, not across them).
    const std::string from = compiled.where == "1=1"
                                 ? std::string(" FROM message_keys WHERE (1=1")
                                 : FromMessages(compiled.keyed) + std::string(" WHERE (") + compiled.where;
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(r.db(), "SELECT DISTINCT message_key" + from +
                                                     ") ORDER BY message_key LIMIT " + std::to_string(max + 1)));
    for (size_t i = 0; i < compiled.params.size(); ++i) {
      stmt.BindValue(static_cast<int>(i) + 1, compiled.params[i]);
    }
    std::vector<std::string> keys;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) keys.push_back(ColumnText(stmt.get(), 0));
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "list keys");
    if (keys.size() > max) {
      return ResourceExhausted("more than " + std::to_string(max) +
                               " keys match; narrow the filter (e.g. add `recorded > -1d`)");
    }
    return keys;
  }

  StatusOr<std::vector<Message>> Attempts(std::string_view channel, std::string_view transport_id) override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(
        r.db(), "SELECT " + ListColumns() + " FROM " + sqlite::kAttemptsFromWhere + " ORDER BY id LIMIT " +
                    std::to_string(kMaxAttempts)));
    stmt.BindText(1, channel);
    stmt.BindText(2, transport_id);
    std::vector<Message> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) out.push_back(ReadMessage(stmt.get(), false));
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "read a delivery's attempts");
    return out;
  }

  StatusOr<uint64_t> DropBefore(int64_t cutoff_us) override {
    constexpr int64_t kDayUs = 86400LL * 1000 * 1000;
    const int64_t day = cutoff_us / kDayUs - ((cutoff_us % kDayUs != 0) && cutoff_us < 0);
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    return InWriteTransaction(db, "retention", [&]() -> StatusOr<uint64_t> {
      // Key entries first, while their messages still say which.
      REPRISE_RETURN_IF_ERROR(DeleteKeyEntries(db, key_layout_, "recorded_at < ?1", day * kDayUs));
      Stmt del;
      REPRISE_RETURN_IF_ERROR(del.Prepare(db, "DELETE FROM messages WHERE recorded_at < ?1"));
      del.BindInt(1, day * kDayUs);
      if (int rc = sqlite3_step(del.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "retention");
      return static_cast<uint64_t>(sqlite3_changes64(db));
    });
  }

  StatusOr<uint64_t> RemoveOldest(int64_t cutoff_us, size_t max_messages) override {
    auto w = conns_->LockWriter();
    sqlite3* db = w.db();
    return InWriteTransaction(db, "retention", [&]() -> StatusOr<uint64_t> {
      // The oldest run of rows recorded before the cutoff, by seq: one range.
      // The newest row stays, so that seqs (rowids) never start over.
      Stmt oldest;
      REPRISE_RETURN_IF_ERROR(oldest.Prepare(
          db, "SELECT seq, recorded_at FROM messages WHERE seq < (SELECT max(seq) FROM messages) "
              "ORDER BY seq LIMIT ?1"));
      oldest.BindInt(1, static_cast<int64_t>(max_messages));
      int64_t last = -1;
      int rc;
      while ((rc = sqlite3_step(oldest.get())) == SQLITE_ROW) {
        if (sqlite3_column_int64(oldest.get(), 1) >= cutoff_us) break;
        last = sqlite3_column_int64(oldest.get(), 0);
      }
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqliteError(db, rc, "retention");
      if (last < 0) return uint64_t{0};
      // Key entries first, while their messages still say which.
      REPRISE_RETURN_IF_ERROR(DeleteKeyEntries(db, key_layout_, "seq <= ?1", last));
      Stmt del;
      REPRISE_RETURN_IF_ERROR(del.Prepare(db, "DELETE FROM messages WHERE seq <= ?1"));
      del.BindInt(1, last);
      if (rc = sqlite3_step(del.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "retention");
      return static_cast<uint64_t>(sqlite3_changes64(db));
    });
  }

  StatusOr<JournalExtent> Extent() override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    JournalExtent e;
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(
        r.db(),
        "SELECT (SELECT recorded_at FROM messages ORDER BY seq LIMIT 1), "
        "(SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM "
        "pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())"));
    if (int rc = sqlite3_step(stmt.get()); rc != SQLITE_ROW) return SqliteError(r.db(), rc, "extent");
    e.oldest_us = sqlite3_column_int64(stmt.get(), 0);
    e.bytes = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 1) *
                                    sqlite3_column_int64(stmt.get(), 2));
    return e;
  }

  StatusOr<std::vector<ChannelInfo>> Channels() override {
    auto r = conns_->BorrowReader();
    if (!r.ok()) return r.status();
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(
        r.db(),
        "SELECT channel, direction, count(*), sum(outcome = 3), sum(outcome = 3 AND resolved_by IS NULL) "
        "FROM messages "
        "GROUP BY channel, direction ORDER BY channel, direction"));
    std::vector<ChannelInfo> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      ChannelInfo c;
      c.channel = ColumnText(stmt.get(), 0);
      c.direction = sqlite3_column_int(stmt.get(), 1) == 2 ? Direction::kOut : Direction::kIn;
      c.messages = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 2));
      c.failed = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 3));
      c.unresolved = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 4));
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "list channels");
    return out;
  }

 private:
  Status Migrate(sqlite3* db) {
    REPRISE_RETURN_IF_ERROR(Exec(db,
                                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"));
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(db, "SELECT coalesce(max(version), 0) FROM schema_migrations"));
    int rc = sqlite3_step(q.get());
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "read schema version");
    int current = sqlite3_column_int(q.get(), 0);
    if (current > kSchemaVersion) {
      return FailedPrecondition("journal " + conns_->path() + " has schema version " +
                                std::to_string(current) + ", newer than this build (" +
                                std::to_string(kSchemaVersion) +
                                "); upgrade Reprise or open another journal");
    }
    for (int v = current; v < kSchemaVersion; ++v) {
      Status st = InWriteTransaction(db, "schema migration", [&]() -> Status {
        // Several processes may open a new journal at once: the version read
        // above may be stale, so it is read again under the write lock.
        sqlite3_reset(q.get());
        if (int rc2 = sqlite3_step(q.get()); rc2 != SQLITE_ROW) return SqliteError(db, rc2, "read schema version");
        const bool applied = sqlite3_column_int(q.get(), 0) > v;
        // A statement still running on the connection would make DROP fail
        // with "database table is locked".
        sqlite3_reset(q.get());
        if (applied) return Status::Ok();
        if (kMigrations[v] != nullptr) {
          REPRISE_RETURN_IF_ERROR(Exec(db, kMigrations[v]));
        } else {
          Stmt last_seq;
          REPRISE_RETURN_IF_ERROR(last_seq.Prepare(db, kLastSeq));
          REPRISE_ASSIGN_OR_RETURN(auto max_seq, LastSeq(last_seq, db));
          std::string sql;
          switch (v + 1) {
            case 8: sql = KeyRunsMigration(key_layout_, max_seq); break;
            case 12: sql = KeyEntriesWithoutIdMigration(key_layout_, max_seq); break;
            default: return Internal("no migration to schema version " + std::to_string(v + 1));
          }
          REPRISE_RETURN_IF_ERROR(Exec(db, sql.c_str()));
        }
        const std::string rec = "INSERT INTO schema_migrations VALUES (" + std::to_string(v + 1) + ", " +
                                std::to_string(NowUs()) + ")";
        return Exec(db, rec.c_str());
      });
      if (!st.ok()) return st.WithPrefix("migrating journal to schema version " + std::to_string(v + 1));
    }
    return Status::Ok();
  }

  // The batch's messages with one statement each for the rows and their key
  // entries (sqlite/batch_table.h); a message the journal refuses (a
  // duplicate id) ends the whole transaction (OR ROLLBACK), as it did when
  // each row had its own statement.
  Status InsertBatch(sqlite3* db, const std::vector<Message>& messages) {
    REPRISE_ASSIGN_OR_RETURN(int64_t last_seq, LastSeq(*last_seq_, db));
    const int64_t before = last_seq;
    batch_rows_.messages = &messages;
    struct Unset {
      sqlite::BatchRows& rows;
      ~Unset() { rows.messages = nullptr; }
    } unset{batch_rows_};
    const std::string what = messages.size() == 1
                                 ? "insert message " + messages.front().id
                                 : "insert " + std::to_string(messages.size()) + " messages from " + messages.front().id;
    REPRISE_RETURN_IF_ERROR(Step(*batch_insert_, db, what.c_str(), [](Stmt&) {}));
    // New rows take max(seq) + 1 one after the other: the key entries
    // below count on it.
    const int64_t first = before + 1;
    const int64_t last = sqlite3_last_insert_rowid(db);
    if (last - before != static_cast<int64_t>(messages.size())) {
      return Internal("sqlite journal: " + std::to_string(messages.size()) + " messages took seqs up to " +
                      std::to_string(last) + " after " + std::to_string(before) + "; batch not written");
    }
    REPRISE_RETURN_IF_ERROR(Step(*batch_keys_, db, "index message keys", [&](Stmt& q) { q.BindInt(1, first); }));
    for (int64_t run = KeyRun(key_layout_, 0, first); run <= KeyRun(key_layout_, 0, last); ++run) {
      if (run != last_run_) compaction_due_ = true;  // a run was completed
      last_run_ = run;
      REPRISE_RETURN_IF_ERROR(Step(*run_insert_, db, "list key run", [&](Stmt& q) { q.BindInt(1, run); }));
    }
    return Status::Ok();
  }

  Status WriteInTransaction(sqlite3* db, const WriteBatch& batch) {
    // (message that ended ok, message it resolves)
    std::vector<std::pair<std::string, std::string>> resolutions;
    if (!batch.messages.empty()) {
      REPRISE_RETURN_IF_ERROR(InsertBatch(db, batch.messages));
      for (const Message& m : batch.messages) {
        if (m.outcome != Outcome::kOk) continue;
        if (std::string_view target = ResolveTarget(m); !target.empty()) resolutions.emplace_back(m.id, target);
      }
    }
    REPRISE_RETURN_IF_ERROR(WriteOutcomes(db, batch, resolutions));
    // Not a structured binding: clang 14 cannot capture one in the lambda.
    for (const auto& resolution : resolutions) {
      REPRISE_RETURN_IF_ERROR(Step(*resolve_, db, "record resolution", [&](Stmt& q) {
        q.BindText(1, resolution.first);
        q.BindText(2, resolution.second);
      }));
    }
    return Status::Ok();
  }

  // Adds to `resolutions` the updated messages that ended ok and resolve one.
  Status WriteOutcomes(sqlite3* db, const WriteBatch& batch,
                       std::vector<std::pair<std::string, std::string>>& resolutions) {
    sqlite3_stmt* u = update_->get();
    for (const OutcomeUpdate& o : batch.outcomes) {
      sqlite3_reset(u);
      update_->BindText(1, o.id);
      update_->BindInt(2, static_cast<int>(o.outcome));
      update_->BindOptionalText(3, o.error);
      update_->BindOptionalText(4, o.flow_variant);
      int rc;
      while ((rc = sqlite3_step(u)) == SQLITE_ROW) {
        if (sqlite3_column_type(u, 0) != SQLITE_NULL) resolutions.emplace_back(o.id, ColumnText(u, 0));
      }
      if (rc != SQLITE_DONE) {
        Status st = SqliteError(db, rc, "record outcome of " + o.id);
        sqlite3_reset(u);
        return st;
      }
    }
    sqlite3_reset(u);
    return Status::Ok();
  }

  // Runs a prepared statement that returns no rows, with `bind` setting
  // its parameters.
  template <typename Bind>
  static Status Step(Stmt& q, sqlite3* db, const char* what, Bind bind) {
    sqlite3_reset(q.get());
    bind(q);
    int rc = sqlite3_step(q.get());
    sqlite3_reset(q.get());
    if (rc != SQLITE_DONE) return SqliteError(db, rc, what);
    return Status::Ok();
  }

  static constexpr const char* kLastSeq = "SELECT coalesce(max(seq), 0) FROM messages";

  // The largest seq (0 for none), through `q`, kLastSeq prepared.
  static StatusOr<int64_t> LastSeq(Stmt& q, sqlite3* db) {
    sqlite3_reset(q.get());
    const int rc = sqlite3_step(q.get());
    const int64_t seq = rc == SQLITE_ROW ? sqlite3_column_int64(q.get(), 0) : 0;
    sqlite3_reset(q.get());
    if (rc != SQLITE_ROW) return SqliteError(db, rc, "read last seq");
    return seq;
  }

  // After a commit: merges key runs while there is work, about four entries
  // per message just written (an entry moves up to three levels), at least
  // one step. The batch is committed whatever happens here; a failed step is
  // tried again after the next write.
  void CompactKeyIndex(sqlite3* db, size_t written) {
    if (!compaction_due_) return;
    int64_t budget = 4 * static_cast<int64_t>(written);
    do {
      StatusOr<int64_t> moved = CompactKeyRuns(db, key_layout_);
      if (!moved.ok()) {
        // Lookups stay right (every entry is in a listed run), only slower.
        std::fprintf(stderr, "reprise: merging key runs: %s; tried again after the next write\n",
                     moved.status().ToString().c_str());
        return;
      }
      if (*moved == 0) {
        compaction_due_ = false;
        return;
      }
      budget -= *moved;
    } while (budget > 0);
  }

  // The messages whose `column` equals `value` (ReadLineage's primitive).
  static StatusOr<std::vector<Message>> SelectWhere(sqlite3* db, std::string_view column, std::string_view value,
                                                    bool with_payload, int limit) {
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(
        db, "SELECT " + Columns() + (with_payload ? ", payload" : "") + " FROM messages WHERE " +
                std::string(column) + " = ?1 ORDER BY id LIMIT " + std::to_string(limit)));
    stmt.BindText(1, value);
    std::vector<Message> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) out.push_back(ReadMessage(stmt.get(), with_payload));
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "select messages");
    return out;
  }

  std::unique_ptr<Connections> conns_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<AuditStore> audit_;
  std::unique_ptr<FlowStore> flows_;
  std::unique_ptr<InstanceStore> instances_;
  std::unique_ptr<Stmt> update_;   // used under the writer lock
  std::unique_ptr<Stmt> resolve_;  // used under the writer lock
  std::unique_ptr<Stmt> run_insert_;  // used under the writer lock
  std::unique_ptr<Stmt> batch_insert_;  // used under the writer lock
  std::unique_ptr<Stmt> batch_keys_;    // used under the writer lock
  std::unique_ptr<Stmt> last_seq_;      // used under the writer lock
  sqlite::BatchRows batch_rows_;        // used under the writer lock: what reprise_batch shows
  const sqlite::KeyRunLayout key_layout_{};
  // Used under the writer lock: a run was completed or a merge may be
  // unfinished (true at open: another process may have left one).
  bool compaction_due_ = true;
  int64_t last_run_ = -1;  // used under the writer lock: the run of the last entry written
  bool synchronous_full_ = true;   // SQLite's default; used under the writer lock
};

}  // namespace

StatusOr<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path,
                                                     const std::string& vfs) {
  REPRISE_ASSIGN_OR_RETURN(auto conns, Connections::Open(path, vfs));
  auto j = std::make_unique<SqliteJournal>(std::move(conns));
  Status st = j->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Journal>(std::move(j));
}

}  // namespace reprise
