// SQLite journal. One writer connection (serialized by write_mu_) and a small
// pool of reader connections: WAL lets readers run while the writer commits,
// so operators querying the journal never stall the host's recording.
#include "sqlite_journal.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <vector>

#include "json_text.h"
#include "reprise/store/filter.h"
#include "reprise/store/ulid.h"

namespace reprise {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kMaxReaders = 4;
constexpr int kMaxLineageDepth = 64;
constexpr int kMaxLineageRows = 1000;

// Schema migrations, applied in order; index i brings the schema to version i+1.
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
};
static_assert(std::size(kMigrations) == kSchemaVersion);

constexpr const char* kColumns =
    "id, direction, channel, message_key, correlation_id, causation_id, headers, "
    "content_type, recorded_at, outcome, error, attempt, origin_id, job_id, flow_variant, "
    "length(payload)";
// Column index of the payload when selected after kColumns.
constexpr int kPayloadColumn = 16;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Transient conditions a retry may cure (busy, full disk, I/O) are UNAVAILABLE;
// anything else is INTERNAL.
Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite journal: " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Unavailable(std::move(msg));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(msg) + " (the journal file is damaged; see docs/operations.md)");
    default:
      return Internal(std::move(msg));
  }
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s_); }
  Status Prepare(sqlite3* db, std::string_view sql) {
    sqlite3_finalize(s_);
    s_ = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
    return Status::Ok();
  }
  sqlite3_stmt* get() const { return s_; }

  void BindText(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // Empty strings are stored as NULL: optional columns stay out of the
  // partial indexes.
  void BindOptionalText(int i, std::string_view v) {
    if (v.empty()) sqlite3_bind_null(s_, i);
    else BindText(i, v);
  }
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void BindValue(int i, const filter::SqlValue& v) {
    if (auto* n = std::get_if<int64_t>(&v)) BindInt(i, *n);
    else if (auto* d = std::get_if<double>(&v)) sqlite3_bind_double(s_, i, *d);
    else BindText(i, std::get<std::string>(v));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

std::string ColumnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, i)) : "";
}

Message ReadMessage(sqlite3_stmt* s, bool with_payload) {
  Message m;
  m.id = ColumnText(s, 0);
  m.direction = sqlite3_column_int(s, 1) == 2 ? Direction::kOut : Direction::kIn;
  m.channel = ColumnText(s, 2);
  m.key = ColumnText(s, 3);
  m.correlation_id = ColumnText(s, 4);
  m.causation_id = ColumnText(s, 5);
  if (auto h = json::DecodeHeaders(ColumnText(s, 6))) m.headers = std::move(*h);
  m.content_type = ColumnText(s, 7);
  m.recorded_at_us = sqlite3_column_int64(s, 8);
  int outcome = sqlite3_column_int(s, 9);
  m.outcome = (outcome >= 1 && outcome <= 4) ? static_cast<Outcome>(outcome) : Outcome::kPending;
  m.error = ColumnText(s, 10);
  m.attempt = static_cast<uint32_t>(sqlite3_column_int64(s, 11));
  m.origin_id = ColumnText(s, 12);
  m.job_id = ColumnText(s, 13);
  m.flow_variant = ColumnText(s, 14);
  m.payload_size = static_cast<uint64_t>(sqlite3_column_int64(s, 15));
  if (with_payload) {
    const void* p = sqlite3_column_blob(s, kPayloadColumn);
    int n = sqlite3_column_bytes(s, kPayloadColumn);
    if (p && n > 0) m.payload.assign(static_cast<const char*>(p), static_cast<size_t>(n));
  }
  return m;
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return SqliteError(nullptr, rc, msg);
  }
  return Status::Ok();
}

class SqliteJournal final : public Journal {
 public:
  explicit SqliteJournal(std::string path) : path_(std::move(path)) {}
  ~SqliteJournal() override {
    insert_.reset();
    update_.reset();
    for (sqlite3* r : readers_) sqlite3_close_v2(r);
    sqlite3_close_v2(writer_);
  }

  Status Init() {
    memory_ = path_ == ":memory:";
    REPRISE_RETURN_IF_ERROR(OpenConnection(&writer_));
    if (!memory_) {
      REPRISE_RETURN_IF_ERROR(Exec(writer_, "PRAGMA journal_mode=WAL"));
    }
    REPRISE_RETURN_IF_ERROR(Migrate());
    insert_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(insert_->Prepare(
        writer_,
        "INSERT INTO messages (id, direction, channel, message_key, correlation_id, "
        "causation_id, headers, payload, content_type, recorded_at, outcome, error, attempt, "
        "origin_id, job_id, flow_variant) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"));
    update_ = std::make_unique<Stmt>();
    REPRISE_RETURN_IF_ERROR(update_->Prepare(
        writer_,
        "UPDATE messages SET outcome = ?2, error = ?3, flow_variant = COALESCE(?4, flow_variant) "
        "WHERE id = ?1"));
    return Status::Ok();
  }

  std::string Describe() const override { return "sqlite:" + path_; }
  int SchemaVersion() const override { return kSchemaVersion; }

  Status Write(const WriteBatch& batch, bool sync) override {
    if (batch.empty()) return Status::Ok();
    std::lock_guard<std::mutex> lock(write_mu_);
    if (sync != synchronous_full_ && !memory_) {
      // WAL + NORMAL survives a crash of the process; FULL also fsyncs the
      // WAL on every commit, which survives power loss.
      REPRISE_RETURN_IF_ERROR(
          Exec(writer_, sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
      synchronous_full_ = sync;
    }
    REPRISE_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE"));
    Status st = WriteInTransaction(batch);
    if (!st.ok()) {
      (void)Exec(writer_, "ROLLBACK");
      return st;
    }
    int rc = sqlite3_exec(writer_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      Status err = SqliteError(writer_, rc, "commit");
      (void)Exec(writer_, "ROLLBACK");
      return err;
    }
    return Status::Ok();
  }

  StatusOr<MessagePage> List(const ListQuery& query) override {
    auto compiled = filter::Compile(query.filter, {filter::Dialect::kSqlite, NowUs(), 1});
    if (!compiled.ok()) return compiled.status();
    if (!query.page_token.empty() && !IsUlid(query.page_token)) {
      return InvalidArgument("page_token \"" + query.page_token +
                             "\" is not one this journal issued; start again without it");
    }
    uint32_t page_size = std::clamp<uint32_t>(query.page_size == 0 ? 50 : query.page_size, 1,
                                              kMaxPageSize);
    const int n = static_cast<int>(compiled->params.size());
    std::string sql = std::string("SELECT ") + kColumns + (query.with_payload ? ", payload" : "") +
                      " FROM messages WHERE (" + compiled->where + ")";
    const char* cmp = query.oldest_first ? " > " : " < ";
    if (!query.page_token.empty()) sql += " AND id" + std::string(cmp) + "?" + std::to_string(n + 1);
    sql += query.oldest_first ? " ORDER BY id ASC" : " ORDER BY id DESC";
    sql += " LIMIT " + std::to_string(page_size + 1);

    Reader r(this);
    if (!r.ok()) return r.status();
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(r.db(), sql));
    for (int i = 0; i < n; ++i) stmt.BindValue(i + 1, compiled->params[i]);
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
    Reader r(this);
    if (!r.ok()) return r.status();
    MessageLineage out;
    auto one = SelectWhere(r.db(), "id = ?1", id, true, 1);
    if (!one.ok()) return one.status();
    if (one->empty()) {
      return NotFound("message " + std::string(id) +
                      " does not exist in this journal; list ids with `find`");
    }
    out.message = std::move(one->front());
    // Causes: walk the causation chain upwards.
    std::string parent = out.message.causation_id;
    for (int depth = 0; !parent.empty() && depth < kMaxLineageDepth; ++depth) {
      auto p = SelectWhere(r.db(), "id = ?1", parent, false, 1);
      if (!p.ok()) return p.status();
      if (p->empty()) break;  // recorded elsewhere (another service's journal)
      parent = p->front().causation_id;
      out.causes.push_back(std::move(p->front()));
    }
    auto effects = SelectWhere(r.db(), "causation_id = ?1", id, false, kMaxLineageRows);
    if (!effects.ok()) return effects.status();
    out.effects = std::move(*effects);
    auto copies = SelectWhere(r.db(), "origin_id = ?1", id, false, kMaxLineageRows);
    if (!copies.ok()) return copies.status();
    out.copies = std::move(*copies);
    return out;
  }

  StatusOr<std::vector<CountRow>> Count(std::string_view filter_text,
                                        std::string_view group_by) override {
    auto compiled = filter::Compile(filter_text, {filter::Dialect::kSqlite, NowUs(), 1});
    if (!compiled.ok()) return compiled.status();
    std::vector<filter::SqlValue> params = compiled->params;
    std::string sql;
    if (group_by.empty()) {
      sql = "SELECT '', count(*) FROM messages WHERE (" + compiled->where + ")";
    } else {
      auto group = filter::CompileGroupBy(
          group_by, {filter::Dialect::kSqlite, NowUs(), static_cast<int>(params.size()) + 1});
      if (!group.ok()) return group.status();
      params.insert(params.end(), group->params.begin(), group->params.end());
      sql = "SELECT " + group->where + " AS g, count(*) AS n FROM messages WHERE (" +
            compiled->where + ") GROUP BY g ORDER BY n DESC, g LIMIT 1000";
    }
    Reader r(this);
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

  StatusOr<std::vector<ChannelInfo>> Channels() override {
    Reader r(this);
    if (!r.ok()) return r.status();
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(
        r.db(),
        "SELECT channel, direction, count(*), sum(outcome = 3) FROM messages "
        "GROUP BY channel, direction ORDER BY channel, direction"));
    std::vector<ChannelInfo> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      ChannelInfo c;
      c.channel = ColumnText(stmt.get(), 0);
      c.direction = sqlite3_column_int(stmt.get(), 1) == 2 ? Direction::kOut : Direction::kIn;
      c.messages = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 2));
      c.failed = static_cast<uint64_t>(sqlite3_column_int64(stmt.get(), 3));
      out.push_back(std::move(c));
    }
    if (rc != SQLITE_DONE) return SqliteError(r.db(), rc, "list channels");
    return out;
  }

 private:
  // Borrows a reader connection for one query. With ":memory:" every
  // connection would be a different database, so the writer is shared.
  class Reader {
   public:
    explicit Reader(SqliteJournal* j) : j_(j) {
      if (j_->memory_) {
        lock_ = std::unique_lock<std::mutex>(j_->write_mu_);
        db_ = j_->writer_;
        return;
      }
      {
        std::lock_guard<std::mutex> lock(j_->reader_mu_);
        if (!j_->readers_.empty()) {
          db_ = j_->readers_.back();
          j_->readers_.pop_back();
          return;
        }
      }
      status_ = j_->OpenConnection(&db_);
      if (status_.ok()) (void)Exec(db_, "PRAGMA query_only=1");
    }
    ~Reader() {
      if (j_->memory_ || db_ == nullptr) return;
      std::lock_guard<std::mutex> lock(j_->reader_mu_);
      if (status_.ok() && j_->readers_.size() < kMaxReaders) {
        j_->readers_.push_back(db_);
      } else {
        sqlite3_close_v2(db_);
      }
    }
    bool ok() const { return status_.ok(); }
    const Status& status() const { return status_; }
    sqlite3* db() const { return db_; }

   private:
    SqliteJournal* j_;
    sqlite3* db_ = nullptr;
    Status status_;
    std::unique_lock<std::mutex> lock_;
  };

  Status OpenConnection(sqlite3** db) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path_.c_str(), db, flags, nullptr);
    if (rc != SQLITE_OK) {
      Status st = SqliteError(*db, rc, "open " + path_);
      sqlite3_close_v2(*db);
      *db = nullptr;
      return st;
    }
    sqlite3_busy_timeout(*db, 5000);
    sqlite3_extended_result_codes(*db, 1);
    return Status::Ok();
  }

  Status Migrate() {
    REPRISE_RETURN_IF_ERROR(Exec(writer_,
                                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"));
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(writer_, "SELECT coalesce(max(version), 0) FROM schema_migrations"));
    int rc = sqlite3_step(q.get());
    if (rc != SQLITE_ROW) return SqliteError(writer_, rc, "read schema version");
    int current = sqlite3_column_int(q.get(), 0);
    if (current > kSchemaVersion) {
      return FailedPrecondition("journal " + path_ + " has schema version " +
                                std::to_string(current) + ", newer than this build (" +
                                std::to_string(kSchemaVersion) +
                                "); upgrade Reprise or open another journal");
    }
    for (int v = current; v < kSchemaVersion; ++v) {
      REPRISE_RETURN_IF_ERROR(Exec(writer_, "BEGIN IMMEDIATE"));
      Status st = Exec(writer_, kMigrations[v]);
      if (st.ok()) {
        std::string rec = "INSERT INTO schema_migrations VALUES (" + std::to_string(v + 1) + ", " +
                          std::to_string(NowUs()) + ")";
        st = Exec(writer_, rec.c_str());
      }
      if (!st.ok()) {
        (void)Exec(writer_, "ROLLBACK");
        return st.WithPrefix("migrating journal to schema version " + std::to_string(v + 1));
      }
      REPRISE_RETURN_IF_ERROR(Exec(writer_, "COMMIT"));
    }
    return Status::Ok();
  }

  Status WriteInTransaction(const WriteBatch& batch) {
    sqlite3_stmt* s = insert_->get();
    for (const Message& m : batch.messages) {
      sqlite3_reset(s);
      insert_->BindText(1, m.id);
      insert_->BindInt(2, static_cast<int>(m.direction));
      insert_->BindText(3, m.channel);
      insert_->BindText(4, m.key);
      insert_->BindOptionalText(5, m.correlation_id);
      insert_->BindOptionalText(6, m.causation_id);
      insert_->BindOptionalText(7, json::EncodeHeaders(m.headers));
      sqlite3_bind_blob(s, 8, m.payload.data(), static_cast<int>(m.payload.size()),
                        SQLITE_STATIC);
      insert_->BindOptionalText(9, m.content_type);
      insert_->BindInt(10, m.recorded_at_us);
      insert_->BindInt(11, static_cast<int>(m.outcome));
      insert_->BindOptionalText(12, m.error);
      insert_->BindInt(13, m.attempt);
      insert_->BindOptionalText(14, m.origin_id);
      insert_->BindOptionalText(15, m.job_id);
      insert_->BindOptionalText(16, m.flow_variant);
      int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) {
        Status st = SqliteError(writer_, rc, "insert message " + m.id);
        sqlite3_reset(s);
        return st;
      }
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);  // drop the SQLITE_STATIC payload pointer
    sqlite3_stmt* u = update_->get();
    for (const OutcomeUpdate& o : batch.outcomes) {
      sqlite3_reset(u);
      update_->BindText(1, o.id);
      update_->BindInt(2, static_cast<int>(o.outcome));
      update_->BindOptionalText(3, o.error);
      update_->BindOptionalText(4, o.flow_variant);
      int rc = sqlite3_step(u);
      if (rc != SQLITE_DONE) {
        Status st = SqliteError(writer_, rc, "record outcome of " + o.id);
        sqlite3_reset(u);
        return st;
      }
    }
    sqlite3_reset(u);
    return Status::Ok();
  }

  StatusOr<std::vector<Message>> SelectWhere(sqlite3* db, const std::string& where,
                                             std::string_view arg, bool with_payload, int limit) {
    Stmt stmt;
    REPRISE_RETURN_IF_ERROR(stmt.Prepare(
        db, std::string("SELECT ") + kColumns + (with_payload ? ", payload" : "") +
                " FROM messages WHERE " + where + " ORDER BY id LIMIT " + std::to_string(limit)));
    stmt.BindText(1, arg);
    std::vector<Message> out;
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      out.push_back(ReadMessage(stmt.get(), with_payload));
    }
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "select messages");
    return out;
  }

  const std::string path_;
  bool memory_ = false;
  std::mutex write_mu_;
  sqlite3* writer_ = nullptr;            // guarded by write_mu_
  std::unique_ptr<Stmt> insert_;         // guarded by write_mu_
  std::unique_ptr<Stmt> update_;         // guarded by write_mu_
  bool synchronous_full_ = false;        // guarded by write_mu_
  std::mutex reader_mu_;
  std::vector<sqlite3*> readers_;        // idle reader connections; guarded by reader_mu_
};

}  // namespace

StatusOr<std::unique_ptr<Journal>> OpenSqliteJournal(const std::string& path) {
  auto j = std::make_unique<SqliteJournal>(path);
  Status st = j->Init();
  if (!st.ok()) return st;
  return std::unique_ptr<Journal>(std::move(j));
}

}  // namespace reprise
