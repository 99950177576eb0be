#include "sqlite_key_runs.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "sqlite_util.h"

namespace reprise::sqlite {
namespace {

constexpr int kLevelShift = 40;  // run = level << 40 | block

int Shift(const KeyRunLayout& layout, int level) {
  return layout.base_shift + level * layout.fanout_shift;
}

int64_t BlockOf(int64_t run) { return run & ((int64_t{1} << kLevelShift) - 1); }

StatusOr<std::optional<std::string>> OneText(sqlite3* db, const std::string& sql,
                                             const std::optional<std::string>& arg) {
  Stmt q;
  REPRISE_RETURN_IF_ERROR(q.Prepare(db, sql));
  if (arg) q.BindText(1, *arg);
  int rc = sqlite3_step(q.get());
  if (rc == SQLITE_DONE || (rc == SQLITE_ROW && sqlite3_column_type(q.get(), 0) == SQLITE_NULL)) {
    return std::optional<std::string>();
  }
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read key runs");
  return std::optional<std::string>(ColumnText(q.get(), 0));
}

// Moves the next chunk of `sources`' entries, in key order, into `target`.
StatusOr<int64_t> Merge(sqlite3* db, const KeyRunLayout& layout, const std::vector<int64_t>& sources,
                        int64_t target) {
  std::string list;
  for (int64_t s : sources) list += (list.empty() ? "" : ", ") + std::to_string(s);
  REPRISE_RETURN_IF_ERROR(
      Exec(db, ("INSERT OR IGNORE INTO key_runs VALUES (" + std::to_string(target) + ")").c_str()));
  // Every key up to the target's largest has moved, with all its entries.
  auto lo = OneText(db, "SELECT max(message_key) FROM message_keys WHERE run = " + std::to_string(target),
                    std::nullopt);
  if (!lo.ok()) return lo.status();
  const std::string after = lo->has_value() ? " AND message_key > ?1" : "";
  // The chunk ends at the smallest key that closes a share of the chunk in
  // any source, so no source gives more than its share.
  const int64_t share = std::max<int64_t>(1, layout.chunk / static_cast<int64_t>(sources.size()));
  std::optional<std::string> hi;
  for (int64_t s : sources) {
    auto k = OneText(db,
                     "SELECT message_key FROM message_keys WHERE run = " + std::to_string(s) + after +
                         " ORDER BY message_key LIMIT 1 OFFSET " + std::to_string(share - 1),
                     *lo);
    if (!k.ok()) return k.status();
    if (k->has_value() && (!hi || **k < *hi)) hi = *k;
  }
  const std::string range = "run IN (" + list + ")" + after + (hi ? " AND message_key <= ?2" : "");
  auto run = [&](const std::string& sql) -> StatusOr<int64_t> {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(db, sql));
    if (lo->has_value()) q.BindText(1, **lo);
    if (hi) q.BindText(2, *hi);
    if (int rc = sqlite3_step(q.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "merge key runs");
    return static_cast<int64_t>(sqlite3_changes64(db));
  };
  auto moved = run("INSERT INTO message_keys (run, message_key, id, seq) SELECT " +
                   std::to_string(target) + ", message_key, id, seq FROM message_keys WHERE " + range +
                   " ORDER BY message_key, id");
  if (!moved.ok()) return moved.status();
  auto deleted = run("DELETE FROM message_keys WHERE " + range);
  if (!deleted.ok()) return deleted.status();
  if (*deleted != *moved) return Internal("merging key runs moved " + std::to_string(*moved) +
                                          " entries but removed " + std::to_string(*deleted));
  if (!hi) {
    REPRISE_RETURN_IF_ERROR(Exec(db, ("DELETE FROM key_runs WHERE run IN (" + list + ")").c_str()));
  }
  return std::max<int64_t>(1, *moved);
}

StatusOr<int64_t> Step(sqlite3* db, const KeyRunLayout& layout) {
  int64_t max_seq = 0;
  std::vector<int64_t> runs;
  {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(db, "SELECT coalesce(max(seq), 0) FROM messages"));
    if (int rc = sqlite3_step(q.get()); rc != SQLITE_ROW) return SqliteError(db, rc, "read last seq");
    max_seq = sqlite3_column_int64(q.get(), 0);
    REPRISE_RETURN_IF_ERROR(q.Prepare(db, "SELECT run FROM key_runs ORDER BY run"));
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) runs.push_back(sqlite3_column_int64(q.get(), 0));
    if (rc != SQLITE_DONE) return SqliteError(db, rc, "list key runs");
  }
  // Lowest level first, oldest range first: a merge in progress is always
  // the first candidate, and a range merges only once its lower levels have.
  for (int level = 0; level < layout.top_level; ++level) {
    const int up = layout.fanout_shift;
    for (int64_t r : runs) {
      if (KeyRunLevel(r) != level) continue;
      const int64_t parent = BlockOf(r) >> up;
      // Seqs are taken in order, so once max_seq is past the parent's last
      // seq no new entry can arrive in its range.
      if ((((parent + 1) << Shift(layout, level + 1)) - 1) > max_seq) break;
      std::vector<int64_t> sources;
      for (int64_t s : runs) {
        if (KeyRunLevel(s) == level && (BlockOf(s) >> up) == parent) sources.push_back(s);
      }
      return Merge(db, layout, sources, (int64_t{level + 1} << kLevelShift) | parent);
    }
  }
  return int64_t{0};
}

}  // namespace

int64_t KeyRun(const KeyRunLayout& layout, int level, int64_t seq) {
  return (int64_t{level} << kLevelShift) | (seq >> Shift(layout, level));
}

int KeyRunLevel(int64_t run) { return static_cast<int>(run >> kLevelShift); }

std::string ThroughKeyRuns(const std::string& predicate) {
  return "seq IN (SELECT seq FROM message_keys WHERE run IN (SELECT run FROM key_runs) AND " +
         predicate + ")";
}

std::string DeleteKeyEntries(const KeyRunLayout& layout, const std::string& where) {
  // A message's entry is in the run of its seq at one of the levels: each
  // candidate is a seek on the primary key.
  std::string candidates;
  for (int level = 0; level <= layout.top_level; ++level) {
    if (level > 0) candidates += " UNION ALL ";
    candidates += "SELECT " + std::to_string(int64_t{level} << kLevelShift) + " | (seq >> " +
                  std::to_string(Shift(layout, level)) + "), message_key, id FROM messages WHERE " + where;
  }
  return "DELETE FROM message_keys WHERE (run, message_key, id) IN (" + candidates + ")";
}

const char* FromMessages(bool keyed) { return keyed ? " FROM messages NOT INDEXED" : " FROM messages"; }

std::string KeyRunsMigration(const KeyRunLayout& layout, int64_t max_seq) {
  std::string run = "CASE";
  for (int level = layout.top_level; level > 0; --level) {
    const std::string s = std::to_string(Shift(layout, level));
    run += " WHEN ((seq >> " + s + ") + 1) << " + s + " <= " + std::to_string(max_seq + 1) + " THEN " +
           std::to_string(int64_t{level} << kLevelShift) + " | (seq >> " + s + ")";
  }
  run += " ELSE seq >> " + std::to_string(layout.base_shift) + " END";
  return R"sql(
    CREATE TABLE key_runs (run INTEGER PRIMARY KEY);
    CREATE TABLE message_keys (
      run         INTEGER NOT NULL,
      message_key TEXT    NOT NULL,
      id          TEXT    NOT NULL,
      seq         INTEGER NOT NULL,
      PRIMARY KEY (run, message_key, id)
    ) WITHOUT ROWID;
    INSERT INTO message_keys (run, message_key, id, seq)
      SELECT )sql" + run + R"sql( AS r, message_key, id, seq FROM messages ORDER BY r, message_key, id;
    INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;
    DROP INDEX messages_by_key;
  )sql";
}

StatusOr<int64_t> CompactKeyRuns(sqlite3* db, const KeyRunLayout& layout) {
  REPRISE_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
  StatusOr<int64_t> done = Step(db, layout);
  if (!done.ok()) {
    (void)Exec(db, "ROLLBACK");
    return done;
  }
  if (int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); rc != SQLITE_OK) {
    Status err = SqliteError(db, rc, "commit merged key runs");
    (void)Exec(db, "ROLLBACK");
    return err;
  }
  return done;
}

}  // namespace reprise::sqlite
