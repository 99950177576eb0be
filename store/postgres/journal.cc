// The PostgreSQL journal: schema migrations, day partitions of the messages
// table, batched appends (binary COPY) and the queries behind the Journal
// interface. Jobs, audit, flows and the instance registry live in
// postgres/jobs.cc, audit.cc, flows.cc and instances.cc; connections in
// postgres/connections.cc.
#include "postgres/journal.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "lineage.h"
#include "reprise/base/ulid.h"
#include "resolution.h"
#include "reprise/store/audit.h"
#include "reprise/store/filter.h"
#include "reprise/store/flow.h"
#include "reprise/store/instance.h"
#include "reprise/store/job.h"

namespace reprise {
namespace {

using namespace pg;  // NOLINT: this file is the journal's PostgreSQL code

constexpr int kSchemaVersion = 12;
constexpr int64_t kDayUs = 86400LL * 1000 * 1000;
// Serializes schema migrations of processes that open one journal at once.
constexpr int64_t kMigrationLock = 0x7265707269736501;  // "reprise\1"

// Schema migrations, applied in order; index i brings the schema to version
// i+1. Versions 1 to 10 are SQLite's (v1 messages, v2 jobs, v3 audit, v4
// flows, v5 the fleet, v6 re-derive, v10 pending items), v7 to v9 empty here
// (see each); SQLite's v11 to v13 have no counterpart, so from v11 on the
// backends' version numbers part. Identifiers compare bytewise (COLLATE "C"),
// as in SQLite, so that ordering and keyset paging agree on both backends.
const char* const kMigrations[] = {
    // v1: messages, partitioned by day of recorded_at (created on demand).
    // payload keeps the exact bytes; payload_json the same payload as jsonb
    // when it is a JSON document, for filters on payload.PATH.
    R"sql(
    CREATE TABLE messages (
      id             text COLLATE "C" NOT NULL,
      direction      smallint NOT NULL,
      channel        text COLLATE "C" NOT NULL,
      message_key    text COLLATE "C" NOT NULL,
      correlation_id text COLLATE "C",
      causation_id   text COLLATE "C",
      headers        jsonb,
      payload        bytea,
      payload_json   jsonb,
      content_type   text COLLATE "C",
      recorded_at    bigint NOT NULL,
      outcome        smallint NOT NULL,
      error          text COLLATE "C",
      attempt        integer NOT NULL DEFAULT 1,
      origin_id      text COLLATE "C",
      job_id         text COLLATE "C",
      flow_variant   text COLLATE "C",
      PRIMARY KEY (id, recorded_at)
    ) PARTITION BY RANGE (recorded_at);
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
      id            bigserial PRIMARY KEY,
      kind          text COLLATE "C" NOT NULL,
      filter        text NOT NULL,
      target        smallint NOT NULL,
      rate          double precision NOT NULL DEFAULT 0,
      concurrency   integer NOT NULL DEFAULT 1,
      max_failures  bigint NOT NULL DEFAULT 0,
      item_limit    bigint NOT NULL DEFAULT 0,
      reason        text,
      created_by    text,
      instance      text,
      state         smallint NOT NULL,
      end_reason    text,
      total         bigint NOT NULL DEFAULT 0,
      done          bigint NOT NULL DEFAULT 0,
      failed        bigint NOT NULL DEFAULT 0,
      redelivered   bigint NOT NULL DEFAULT 0,
      created_at    bigint NOT NULL,
      finished_at   bigint
    );
    CREATE INDEX jobs_unfinished ON jobs (state) WHERE state IN (1, 2);
    -- One row per selected message; state 0 pending, 1 in flight, 2 done.
    CREATE TABLE job_items (
      job_id      bigint NOT NULL,
      seq         bigint NOT NULL,
      message_id  text COLLATE "C" NOT NULL,
      state       smallint NOT NULL DEFAULT 0,
      redelivery  boolean NOT NULL DEFAULT false,
      copy_id     text COLLATE "C",
      outcome     smallint,
      PRIMARY KEY (job_id, seq)
    );
    CREATE INDEX job_items_by_state ON job_items (job_id, state, seq);
    )sql",
    // v3: the audit trail, append-only: triggers refuse UPDATE, DELETE and
    // TRUNCATE, whoever asks.
    R"sql(
    CREATE TABLE audit (
      id          bigserial PRIMARY KEY,
      at          bigint NOT NULL,
      who         text COLLATE "C" NOT NULL,
      action      text COLLATE "C" NOT NULL,
      request     text NOT NULL,
      result_code integer NOT NULL,
      result      text NOT NULL,
      instance    text
    );
    CREATE INDEX audit_by_action ON audit (action, id);
    CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit records cannot be changed or deleted'; END $$;
    CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
      FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
    CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
      FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
    )sql",
    // v4: flows, their per-key assignments and their versioned history.
    R"sql(
    CREATE TABLE flows (
      name            text COLLATE "C" PRIMARY KEY,
      variants        text NOT NULL,
      default_variant text NOT NULL,
      rollout_variant text,
      rollout_percent double precision NOT NULL DEFAULT 0,
      version         bigint NOT NULL,
      updated_at      bigint NOT NULL,
      updated_by      text,
      reason          text
    );
    CREATE TABLE flow_assignments (
      flow            text COLLATE "C" NOT NULL,
      assignment_key  text COLLATE "C" NOT NULL,
      variant         text NOT NULL,
      version         bigint NOT NULL,
      PRIMARY KEY (flow, assignment_key)
    );
    CREATE TABLE flow_history (
      id       bigserial PRIMARY KEY,
      flow     text COLLATE "C" NOT NULL,
      version  bigint NOT NULL,
      at       bigint NOT NULL,
      who      text,
      reason   text,
      change   text NOT NULL
    );
    CREATE INDEX flow_history_by_flow ON flow_history (flow, version);
    )sql",
    // v5: the fleet: registered instances, jobs shared by a service's
    // instances, and items claimed with a lease.
    R"sql(
    CREATE TABLE instances (
      id            text COLLATE "C" PRIMARY KEY,
      service       text COLLATE "C" NOT NULL,
      host          text NOT NULL,
      pid           bigint NOT NULL,
      address       text,
      agent_version text,
      api_version   text,
      started_at    bigint NOT NULL,
      heartbeat_at  bigint NOT NULL,
      state         smallint NOT NULL,
      gone_reason   text
    );
    CREATE INDEX instances_by_service ON instances (service, state);
    ALTER TABLE jobs ADD COLUMN service text COLLATE "C";
    ALTER TABLE job_items ADD COLUMN message_key text COLLATE "C",
      ADD COLUMN claimed_by text COLLATE "C", ADD COLUMN lease_until bigint;
    UPDATE job_items i SET message_key = m.message_key FROM messages m WHERE m.id = i.message_id;
    CREATE INDEX job_items_in_flight ON job_items (job_id, message_key, seq) WHERE state = 1;
    )sql",
    // v6: re-derive jobs (one item per key) and their outcomes.
    R"sql(
    ALTER TABLE jobs ADD COLUMN deriver text COLLATE "C",
      ADD COLUMN dry_run boolean NOT NULL DEFAULT false, ADD COLUMN changed bigint NOT NULL DEFAULT 0;
    ALTER TABLE job_items ADD COLUMN changed boolean NOT NULL DEFAULT false;
    CREATE INDEX job_items_changed ON job_items (job_id, seq) WHERE changed;
    )sql",
    // v7: nothing; SQLite's v7 makes its key index cover listings. Here an
    // index-only scan also depends on VACUUM's visibility map (rows appended
    // since are read from the heap anyway): not measured, not done
    // (docs/fleet.md).
    "SELECT 1",
    // v8: nothing; SQLite's v8 keeps its key index in runs
    // (docs/architecture.md).
    "SELECT 1",
    // v9: nothing; SQLite's v9 leaves ok rows out of its outcome index (COPY
    // appends here; not measured).
    "SELECT 1",
    // v10: as SQLite's: pending items get an index of their own instead of
    // one of every item by state, so that a completed item leaves every
    // partial index (a claim's and a completion's new row versions get one
    // index entry fewer each).
    R"sql(
    DROP INDEX job_items_by_state;
    CREATE INDEX job_items_pending ON job_items (job_id, seq) WHERE state = 0;
    )sql",
    // v11: resolution (store/resolution.h), as SQLite's v14: resolved_by
    // names the message that resolved a row, kept when the journal records
    // an ok; an index of the unresolved rows by outcome serves `outcome =
    // failed and not resolved`. Messages with an ok copy (or copy of a
    // copy) from before get the first such copy.
    R"sql(
    ALTER TABLE messages ADD COLUMN resolved_by text COLLATE "C";
    UPDATE messages t SET resolved_by = r.copy FROM (
      WITH RECURSIVE up(target, copy, depth) AS (
        SELECT origin_id, id, 0 FROM messages WHERE origin_id IS NOT NULL AND outcome = 2
        UNION ALL SELECT m.origin_id, up.copy, up.depth + 1 FROM up JOIN messages m ON m.id = up.target
          WHERE m.origin_id IS NOT NULL AND up.depth < 64)
      SELECT target, min(copy) AS copy FROM up GROUP BY target) r
    WHERE t.id = r.target;
    CREATE INDEX messages_unresolved ON messages (outcome, id) WHERE resolved_by IS NULL;
    )sql",
    // v12: a transport delivery's attempts by channel and the transport's
    // own id (Attempts): only rows that carry one.
    R"sql(
    CREATE INDEX messages_by_transport_id ON messages (channel, (headers ->> 'reprise-transport-id'))
      WHERE headers ? 'reprise-transport-id';
    )sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

constexpr const char* kInsertColumns =
    "id, direction, channel, message_key, correlation_id, causation_id, headers, payload, "
    "payload_json, content_type, recorded_at, outcome, error, attempt, origin_id, job_id, "
    "flow_variant";
constexpr int kInsertColumnCount = 17;
// Rows per multi-row INSERT (17 parameters each, under libpq's 65535).
constexpr size_t kInsertRows = 1000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// messages_pYYYYMMDD (UTC day of recorded_at).
std::string PartitionName(int64_t day) {
  time_t secs = static_cast<time_t>(day * 86400);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "messages_p%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

// The day of a partition named by PartitionName; nullopt for other names.
std::optional<int64_t> PartitionDay(std::string_view name) {
  constexpr std::string_view kPrefix = "messages_p";
  if (name.size() != kPrefix.size() + 8 || name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  int v[3] = {0, 0, 0};
  const int widths[3] = {4, 2, 2};
  size_t at = kPrefix.size();
  for (int k = 0; k < 3; ++k) {
    for (int d = 0; d < widths[k]; ++d, ++at) {
      if (name[at] < '0' || name[at] > '9') return std::nullopt;
      v[k] = v[k] * 10 + (name[at] - '0');
    }
  }
  struct tm tm {};
  tm.tm_year = v[0] - 1900;
  tm.tm_mon = v[1] - 1;
  tm.tm_mday = v[2];
  return FloorDiv(static_cast<int64_t>(timegm(&tm)), 86400);
}

// Binary COPY encoding ---------------------------------------------------------
void PutU16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}
void PutU32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
void PutU64(std::string& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
void FieldNull(std::string& out) { PutU32(out, 0xFFFFFFFFu); }
void FieldBytes(std::string& out, std::string_view v) {
  PutU32(out, static_cast<uint32_t>(v.size()));
  out.append(v);
}
void FieldOptional(std::string& out, std::string_view v) {
  if (v.empty()) FieldNull(out);
  else FieldBytes(out, v);
}
void FieldJsonb(std::string& out, std::string_view v) {
  if (v.empty()) return FieldNull(out);
  PutU32(out, static_cast<uint32_t>(v.size() + 1));
  out.push_back('\1');  // jsonb binary format version
  out.append(v);
}
void FieldInt16(std::string& out, int v) {
  PutU32(out, 2);
  PutU16(out, static_cast<uint16_t>(v));
}
void FieldInt32(std::string& out, int64_t v) {
  PutU32(out, 4);
  PutU32(out, static_cast<uint32_t>(v));
}
void FieldInt64(std::string& out, int64_t v) {
  PutU32(out, 8);
  PutU64(out, static_cast<uint64_t>(v));
}

// The payload as jsonb text when it is a JSON document, "" otherwise.
std::string_view PayloadJson(const Message& m) {
  return json::IsJsonDocument(m.payload) ? std::string_view(m.payload) : std::string_view();
}

class PgJournal final : public Journal {
 public:
  explicit PgJournal(const JournalUrl& url)
      : pool_(url.libpq, url.display),
        libpq_url_(url.libpq),
        append_(url.append == "insert" ? PgAppend::kInsert
                : url.append == "pipeline" ? PgAppend::kPipeline : PgAppend::kCopy),
        jobs_(NewPgJobStore(&pool_)),
        audit_(NewPgAuditStore(&pool_)),
        flows_(NewPgFlowStore(&pool_)),
        instances_(NewPgInstanceStore(&pool_)) {}

  Status Init() {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    return Migrate(c);
  }

  std::string Describe() const override { return pool_.display(); }
  int SchemaVersion() const override { return kSchemaVersion; }
  JobStore& jobs() override { return *jobs_; }
  AuditStore& audit() override { return *audit_; }
  FlowStore& flows() override { return *flows_; }
  InstanceStore& instances() override { return *instances_; }
  std::unique_ptr<ChangeFeed> NewChangeFeed() override { return NewPgChangeFeed(libpq_url_); }

  Status Write(const WriteBatch& batch, bool sync) override {
    if (batch.empty()) return Status::Ok();
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    REPRISE_RETURN_IF_ERROR(EnsurePartitions(c, batch.messages));
    Status st = WriteOnce(c, batch, sync, append_);
    if (st.ok()) return st;
    const std::string& m = st.message();
    if (m.find("no partition of relation") != std::string::npos) {
      // Another process dropped a partition this one had seen: look again.
      {
        std::lock_guard<std::mutex> lock(partitions_mu_);
        partitions_.clear();
      }
      REPRISE_RETURN_IF_ERROR(EnsurePartitions(c, batch.messages));
      return WriteOnce(c, batch, sync, append_);
    }
    if (append_ == PgAppend::kCopy && m.find("duplicate key") != std::string::npos) {
      // A retry of a batch whose commit reached the server although its
      // answer did not: INSERT ... ON CONFLICT DO NOTHING keeps it once.
      return WriteOnce(c, batch, sync, PgAppend::kInsert);
    }
    return st;
  }

  StatusOr<MessagePage> List(const ListQuery& query) override {
    Params p;
    REPRISE_ASSIGN_OR_RETURN(auto compiled,
                             filter::Compile(query.filter, {filter::Dialect::kPostgres, NowUs(), 1}));
    if (!query.page_token.empty() && !IsUlid(query.page_token)) {
      return InvalidArgument("page_token \"" + query.page_token +
                             "\" is not one this journal issued; start again without it");
    }
    uint32_t page_size = std::clamp<uint32_t>(query.page_size == 0 ? 50 : query.page_size, 1,
                                              kMaxPageSize);
    p.All(compiled.params);
    std::string sql = "SELECT " + Columns() + (query.with_payload ? ", payload" : "") +
                      " FROM messages WHERE (" + compiled.where + ")";
    if (query.originals_only) sql += " AND origin_id IS NULL";
    if (!query.page_token.empty()) {
      sql += std::string(" AND id") + (query.oldest_first ? " > " : " < ") + p.Next();
      p.Text(query.page_token);
    }
    sql += query.oldest_first ? " ORDER BY id ASC" : " ORDER BY id DESC";
    sql += " LIMIT " + std::to_string(page_size + 1);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r, c.Exec(sql, p, "list messages"));
    MessagePage page;
    for (int i = 0; i < r.rows(); ++i) {
      if (page.messages.size() == page_size) {
        page.next_page_token = page.messages.back().id;
        break;
      }
      page.messages.push_back(ReadMessage(r, i, 0, query.with_payload));
    }
    return page;
  }

  StatusOr<MessageLineage> Get(std::string_view id) override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    return ReadLineage(id, [&](std::string_view column, std::string_view value, bool with_payload, int limit) {
      return SelectWhere(c, column, value, with_payload, limit);
    });
  }

  StatusOr<std::vector<CountRow>> Count(std::string_view filter_text,
                                        std::string_view group_by) override {
    REPRISE_ASSIGN_OR_RETURN(auto compiled,
                             filter::Compile(filter_text, {filter::Dialect::kPostgres, NowUs(), 1}));
    Params p;
    p.All(compiled.params);
    std::string sql;
    if (group_by.empty()) {
      sql = "SELECT '', count(*) FROM messages WHERE (" + compiled.where + ")";
    } else {
      REPRISE_ASSIGN_OR_RETURN(
          auto group, filter::CompileGroupBy(group_by, {filter::Dialect::kPostgres, NowUs(), p.size() + 1}));
      p.All(group.params);
      sql = "SELECT (" + group.where + ") COLLATE \"C\" AS g, count(*) AS n FROM messages WHERE (" +
            compiled.where + ") GROUP BY 1 ORDER BY n DESC, g LIMIT 1000";
    }
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r, c.Exec(sql, p, "count messages"));
    std::vector<CountRow> rows;
    for (int i = 0; i < r.rows(); ++i) {
      rows.push_back({r.text(i, 0), static_cast<uint64_t>(r.integer(i, 1))});
    }
    return rows;
  }

  StatusOr<std::vector<std::string>> Keys(std::string_view filter_text, size_t max) override {
    REPRISE_ASSIGN_OR_RETURN(auto compiled,
                             filter::Compile(filter_text, {filter::Dialect::kPostgres, NowUs(), 1}));
    Params p;
    p.All(compiled.params);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    REPRISE_ASSIGN_OR_RETURN(auto r,
                             c.Exec("SELECT DISTINCT message_key FROM messages WHERE (" + compiled.where +
                                        ") ORDER BY message_key LIMIT " + std::to_string(max + 1),
                                    p, "list keys"));
    std::vector<std::string> keys;
    for (int i = 0; i < r.rows(); ++i) keys.push_back(r.text(i, 0));
    if (keys.size() > max) {
      return ResourceExhausted("more than " + std::to_string(max) +
                               " keys match; narrow the filter (e.g. add `recorded > -1d`)");
    }
    return keys;
  }

  StatusOr<uint64_t> DropBefore(int64_t cutoff_us) override {
    const int64_t cutoff_day = FloorDiv(cutoff_us, kDayUs);
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    // The partitions of this journal's messages table (its schema, as the
    // search path resolves it), each named after its day.
    REPRISE_ASSIGN_OR_RETURN(
        auto parts, c.Exec("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                           "WHERE i.inhparent = 'messages'::regclass ORDER BY 1",
                           "list partitions"));
    uint64_t dropped = 0;
    for (int i = 0; i < parts.rows(); ++i) {
      const std::string name = parts.text(i, 0);
      auto day = PartitionDay(name);
      if (!day || *day >= cutoff_day) continue;
      Transaction tx(c);
      REPRISE_RETURN_IF_ERROR(tx.Begin());
      REPRISE_ASSIGN_OR_RETURN(auto n, c.Exec("SELECT count(*) FROM " + name, "retention"));
      REPRISE_RETURN_IF_ERROR(c.Run("DROP TABLE " + name, "retention"));
      REPRISE_RETURN_IF_ERROR(tx.Commit());
      dropped += static_cast<uint64_t>(n.integer(0, 0));
      std::lock_guard<std::mutex> lock(partitions_mu_);
      partitions_.erase(*day);
    }
    return dropped;
  }

  // Whole partitions are the cheap unit here: a DROP, no dead rows to vacuum.
  StatusOr<uint64_t> RemoveOldest(int64_t cutoff_us, size_t) override {
    return DropBefore(cutoff_us);
  }

  StatusOr<JournalExtent> Extent() override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("SELECT coalesce((SELECT min(recorded_at) FROM messages), 0), "
                       "coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                       "WHERE inhparent = 'messages'::regclass), 0)::bigint",
                       "journal extent"));
    return JournalExtent{.oldest_us = r.integer(0, 0),
                         .bytes = static_cast<uint64_t>(r.integer(0, 1))};
  }

  StatusOr<std::vector<ChannelInfo>> Channels() override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    REPRISE_ASSIGN_OR_RETURN(
        auto r,
        c.Exec("SELECT channel, direction, count(*), count(*) FILTER (WHERE outcome = 3), "
               "count(*) FILTER (WHERE outcome = 3 AND resolved_by IS NULL) FROM messages "
               "GROUP BY channel, direction ORDER BY channel, direction",
               "list channels"));
    std::vector<ChannelInfo> out;
    for (int i = 0; i < r.rows(); ++i) {
      ChannelInfo ch;
      ch.channel = r.text(i, 0);
      ch.direction = r.integer(i, 1) == 2 ? Direction::kOut : Direction::kIn;
      ch.messages = static_cast<uint64_t>(r.integer(i, 2));
      ch.failed = static_cast<uint64_t>(r.integer(i, 3));
      ch.unresolved = static_cast<uint64_t>(r.integer(i, 4));
      out.push_back(std::move(ch));
    }
    return out;
  }

 private:
  Status Migrate(Conn& c) {
    Transaction tx(c);
    REPRISE_RETURN_IF_ERROR(tx.Begin());
    REPRISE_RETURN_IF_ERROR(
        c.Run("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")", "lock schema"));
    REPRISE_RETURN_IF_ERROR(c.Run(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "applied_at bigint NOT NULL)",
        "create schema_migrations"));
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("SELECT coalesce(max(version), 0) FROM schema_migrations", "read schema version"));
    const int current = static_cast<int>(r.integer(0, 0));
    if (current > kSchemaVersion) {
      return FailedPrecondition("journal " + pool_.display() + " has schema version " +
                                std::to_string(current) + ", newer than this build (" +
                                std::to_string(kSchemaVersion) +
                                "); upgrade Reprise or open another journal");
    }
    for (int v = current; v < kSchemaVersion; ++v) {
      Status st = c.Run(kMigrations[v], "migrate");
      if (st.ok()) {
        st = c.Run("INSERT INTO schema_migrations VALUES (" + std::to_string(v + 1) + ", " +
                       std::to_string(NowUs()) + ")",
                   "migrate");
      }
      if (!st.ok()) return st.WithPrefix("migrating journal to schema version " + std::to_string(v + 1));
    }
    return tx.Commit();
  }

  // Creates the day partitions the batch needs, each in its own statement
  // outside the batch's transaction. Two processes may race to create one:
  // the loser's "already exists" is success.
  Status EnsurePartitions(Conn& c, const std::vector<Message>& messages) {
    std::set<int64_t> days;
    {
      std::lock_guard<std::mutex> lock(partitions_mu_);
      for (const Message& m : messages) {
        int64_t day = FloorDiv(m.recorded_at_us, kDayUs);
        if (!partitions_.count(day)) days.insert(day);
      }
    }
    for (int64_t day : days) {
      const std::string sql = "CREATE TABLE IF NOT EXISTS " + PartitionName(day) +
                              " PARTITION OF messages FOR VALUES FROM (" + std::to_string(day * kDayUs) +
                              ") TO (" + std::to_string((day + 1) * kDayUs) + ")";
      Status st = c.Run(sql, "create partition " + PartitionName(day));
      if (!st.ok() && st.message().find("already exists") == std::string::npos &&
          st.message().find("duplicate key") == std::string::npos) {
        return st;
      }
      std::lock_guard<std::mutex> lock(partitions_mu_);
      partitions_.insert(day);
    }
    return Status::Ok();
  }

  Status WriteOnce(Conn& c, const WriteBatch& batch, bool sync, PgAppend how) {
    Transaction tx(c);
    REPRISE_RETURN_IF_ERROR(tx.Begin());
    // Without `sync` a commit survives the host process (the server has it)
    // but not a crash of the server's machine: what synchronous_commit=off
    // promises, and what the SQLite journal's `synchronous=NORMAL` promises.
    if (!sync) REPRISE_RETURN_IF_ERROR(c.Run("SET LOCAL synchronous_commit = off", "write"));
    if (!batch.messages.empty()) {
      REPRISE_RETURN_IF_ERROR(how == PgAppend::kCopy       ? Copy(c, batch.messages)
                              : how == PgAppend::kPipeline ? Pipeline(c, batch.messages)
                                                           : Insert(c, batch.messages));
    }
    // (message that ended ok, message it resolves)
    std::vector<std::pair<std::string, std::string>> resolutions;
    for (const Message& m : batch.messages) {
      if (m.outcome != Outcome::kOk) continue;
      if (std::string_view target = ResolveTarget(m); !target.empty()) resolutions.emplace_back(m.id, target);
    }
    if (!batch.outcomes.empty()) REPRISE_RETURN_IF_ERROR(UpdateOutcomes(c, batch.outcomes, resolutions));
    for (const auto& [by, target] : resolutions) {
      Params p;
      p.Text(by);
      p.Text(target);
      REPRISE_RETURN_IF_ERROR(c.Exec(ResolveSql(filter::Dialect::kPostgres), p, "record resolution").status());
    }
    return tx.Commit();
  }

  static Status Copy(Conn& c, const std::vector<Message>& messages) {
    PGconn* conn = c.get();
    {
      Result r(PQexec(conn, (std::string("COPY messages (") + kInsertColumns +
                             ") FROM STDIN (FORMAT binary)").c_str()));
      if (PQresultStatus(r.get()) != PGRES_COPY_IN) return PgError(conn, r.get(), "append messages");
    }
    std::string buf;
    buf.reserve(64 * 1024);
    buf.append("PGCOPY\n\377\r\n\0", 11);
    PutU32(buf, 0);  // flags
    PutU32(buf, 0);  // header extension
    bool failed = false;
    for (const Message& m : messages) {
      PutU16(buf, kInsertColumnCount);
      FieldBytes(buf, m.id);
      FieldInt16(buf, static_cast<int>(m.direction));
      FieldBytes(buf, m.channel);
      FieldBytes(buf, m.key);
      FieldOptional(buf, m.correlation_id);
      FieldOptional(buf, m.causation_id);
      FieldJsonb(buf, json::EncodeHeaders(m.headers));
      FieldBytes(buf, m.payload);
      FieldJsonb(buf, PayloadJson(m));
      FieldOptional(buf, m.content_type);
      FieldInt64(buf, m.recorded_at_us);
      FieldInt16(buf, static_cast<int>(m.outcome));
      FieldOptional(buf, m.error);
      FieldInt32(buf, m.attempt);
      FieldOptional(buf, m.origin_id);
      FieldOptional(buf, m.job_id);
      FieldOptional(buf, m.flow_variant);
      if (buf.size() >= 256 * 1024) {
        if (PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) failed = true;
        buf.clear();
        if (failed) break;
      }
    }
    PutU16(buf, 0xFFFF);  // trailer
    if (!failed && PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) != 1) failed = true;
    PQputCopyEnd(conn, failed ? "client failed to send the batch" : nullptr);
    Status st = Status::Ok();
    // Drain every result so that the connection is usable (or known broken).
    for (int guard = 0; guard < 16; ++guard) {
      Result r(PQgetResult(conn));
      if (r.get() == nullptr) break;
      ExecStatusType es = PQresultStatus(r.get());
      if (es == PGRES_COPY_IN) {
        // Still in COPY (connection trouble): give up on this one.
        PQputCopyEnd(conn, "abandoned");
        continue;
      }
      if (es != PGRES_COMMAND_OK && st.ok()) st = PgError(conn, r.get(), "append messages");
    }
    if (st.ok() && (failed || PQstatus(conn) != CONNECTION_OK)) {
      st = PgError(conn, nullptr, "append messages");
    }
    return st;
  }

  // "($B+1,...,$B+17)" with the jsonb casts, for a row whose first parameter is B+1.
  static std::string RowPlaceholders(int b) {
    std::string sql = "(";
    for (int k = 1; k <= kInsertColumnCount; ++k) {
      sql += "$" + std::to_string(b + k);
      if (k == 7 || k == 9) sql += "::jsonb";
      sql += k == kInsertColumnCount ? ")" : ",";
    }
    return sql;
  }

  static void AddRow(Params& p, const Message& m) {
    p.Text(m.id);
    p.Int(static_cast<int>(m.direction));
    p.Text(m.channel);
    p.Text(m.key);
    p.OptionalText(m.correlation_id);
    p.OptionalText(m.causation_id);
    p.OptionalText(json::EncodeHeaders(m.headers));
    p.Bytes(m.payload);
    p.OptionalText(PayloadJson(m));
    p.OptionalText(m.content_type);
    p.Int(m.recorded_at_us);
    p.Int(static_cast<int>(m.outcome));
    p.OptionalText(m.error);
    p.Int(m.attempt);
    p.OptionalText(m.origin_id);
    p.OptionalText(m.job_id);
    p.OptionalText(m.flow_variant);
  }

  static Status Insert(Conn& c, const std::vector<Message>& messages) {
    for (size_t start = 0; start < messages.size(); start += kInsertRows) {
      const size_t end = std::min(messages.size(), start + kInsertRows);
      Params p;
      std::string sql = std::string("INSERT INTO messages (") + kInsertColumns + ") VALUES ";
      for (size_t i = start; i < end; ++i) {
        if (i > start) sql += ",";
        sql += RowPlaceholders(p.size());
        AddRow(p, messages[i]);
      }
      sql += " ON CONFLICT DO NOTHING";
      REPRISE_RETURN_IF_ERROR(c.Exec(sql, p, "append messages").status());
    }
    return Status::Ok();
  }

  // One prepared single-row INSERT per message, all sent before any result
  // is read (libpq pipeline mode): no round trip per row.
  static Status Pipeline(Conn& c, const std::vector<Message>& messages) {
    PGconn* conn = c.get();
    static const std::string sql = std::string("INSERT INTO messages (") + kInsertColumns +
                                   ") VALUES " + RowPlaceholders(0) + " ON CONFLICT DO NOTHING";
    if (PQenterPipelineMode(conn) != 1) return PgError(conn, nullptr, "append messages (pipeline)");
    Status st = Status::Ok();
    // The unnamed statement, prepared once per batch, then one query per row.
    size_t sent = PQsendPrepare(conn, "", sql.c_str(), kInsertColumnCount, nullptr) == 1 ? 1 : 0;
    if (sent == 0) st = PgError(conn, nullptr, "append messages (pipeline)");
    for (size_t i = 0; st.ok() && i < messages.size(); ++i) {
      Params p;
      AddRow(p, messages[i]);
      Params::Arrays a = p.Build();
      if (PQsendQueryPrepared(conn, "", kInsertColumnCount, a.values.data(), a.lengths.data(),
                              a.formats.data(), 0) != 1) {
        st = PgError(conn, nullptr, "append messages (pipeline)");
        break;
      }
      ++sent;
    }
    if (PQpipelineSync(conn) != 1 && st.ok()) st = PgError(conn, nullptr, "append messages (pipeline)");
    // Each query's results end with a null; then comes the sync. After an
    // error the rest report PGRES_PIPELINE_ABORTED: keep the first error.
    for (size_t i = 0; i < sent; ++i) {
      while (true) {
        Result r(PQgetResult(conn));
        if (r.get() == nullptr) break;
        const ExecStatusType s = PQresultStatus(r.get());
        if (st.ok() && s != PGRES_COMMAND_OK) st = PgError(conn, r.get(), "append messages");
      }
    }
    for (int guard = 0; guard < 4; ++guard) {
      Result r(PQgetResult(conn));
      if (r.get() == nullptr || PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
    }
    if (PQexitPipelineMode(conn) != 1 && st.ok()) st = PgError(conn, nullptr, "append messages (pipeline)");
    return st;
  }

  // One statement for every outcome of the batch; the last update of an id
  // wins. Adds to `resolutions` the messages that ended ok and resolve one.
  static Status UpdateOutcomes(Conn& c, const std::vector<OutcomeUpdate>& outcomes,
                               std::vector<std::pair<std::string, std::string>>& resolutions) {
    std::map<std::string_view, const OutcomeUpdate*> last;
    for (const OutcomeUpdate& o : outcomes) last[o.id] = &o;
    std::string rows = "[";
    for (const auto& [id, o] : last) {
      if (rows.size() > 1) rows += ",";
      rows += "{\"id\":";
      json::AppendQuoted(rows, o->id);
      rows += ",\"outcome\":" + std::to_string(static_cast<int>(o->outcome)) + ",\"error\":";
      if (o->error.empty()) rows += "null";
      else json::AppendQuoted(rows, o->error);
      rows += ",\"variant\":";
      if (o->flow_variant.empty()) rows += "null";
      else json::AppendQuoted(rows, o->flow_variant);
      rows += "}";
    }
    rows += "]";
    Params p;
    p.Text(rows);
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("WITH done AS (UPDATE messages m SET outcome = u.outcome, error = u.error, "
                       "flow_variant = COALESCE(u.variant, m.flow_variant) "
                       "FROM jsonb_to_recordset($1::jsonb) AS u(id text, outcome smallint, error text, "
                       "variant text) WHERE m.id = u.id RETURNING m.id, " +
                           ResolveTargetSql(filter::Dialect::kPostgres) +
                           " AS target) SELECT id, target FROM done WHERE target IS NOT NULL",
                       p, "record outcomes"));
    for (int i = 0; i < r.rows(); ++i) resolutions.emplace_back(r.text(i, 0), r.text(i, 1));
    return Status::Ok();
  }

  StatusOr<std::vector<Message>> Attempts(std::string_view channel, std::string_view transport_id) override {
    REPRISE_ASSIGN_OR_RETURN(auto c, pool_.Borrow());
    Params p;
    p.Text(channel);
    p.Text(transport_id);
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("SELECT " + Columns() +
                           " FROM messages WHERE channel = $1 AND headers ? 'reprise-transport-id' AND "
                           "headers ->> 'reprise-transport-id' = $2 ORDER BY id LIMIT " +
                           std::to_string(kMaxAttempts),
                       p, "read a delivery's attempts"));
    std::vector<Message> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMessage(r, i, 0, false));
    return out;
  }

  // The messages whose `column` equals `value` (ReadLineage's primitive).
  static StatusOr<std::vector<Message>> SelectWhere(Conn& c, std::string_view column, std::string_view value,
                                                    bool with_payload, int limit) {
    Params p;
    p.Text(value);
    REPRISE_ASSIGN_OR_RETURN(
        auto r, c.Exec("SELECT " + Columns() + (with_payload ? ", payload" : "") + " FROM messages WHERE " +
                           std::string(column) + " = $1 ORDER BY id LIMIT " + std::to_string(limit),
                       p, "select messages"));
    std::vector<Message> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadMessage(r, i, 0, with_payload));
    return out;
  }

  Pool pool_;
  const std::string libpq_url_;  // for change feeds' own connections
  const PgAppend append_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<AuditStore> audit_;
  std::unique_ptr<FlowStore> flows_;
  std::unique_ptr<InstanceStore> instances_;
  std::mutex partitions_mu_;
  std::set<int64_t> partitions_;  // days known to have a partition; guarded by partitions_mu_
};

}  // namespace

StatusOr<std::unique_ptr<Journal>> OpenPostgresJournal(const JournalUrl& url) {
  auto j = std::make_unique<PgJournal>(url);
  Status st = j->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Journal>(std::move(j));
}

}  // namespace reprise
