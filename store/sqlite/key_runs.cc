#include "sqlite/key_runs.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "sqlite/util.h"

namespace reprise::sqlite {
namespace {

constexpr int kLevelShift = 40;  // run = level << 40 | block

int Shift(const KeyRunLayout& layout, int level) {
  return layout.base_shift + level * layout.fanout_shift;
}

int64_t BlockOf(int64_t run) { return run & ((int64_t{1} << kLevelShift) - 1); }

// SQL for the run that holds the entry of the column `seq` when each entry
// is in the highest-level run whose seqs are all taken up to `max_seq`.
std::string HighestCompleteRun(const KeyRunLayout& layout, int64_t max_seq) {
  std::string run = "CASE";
  for (int level = layout.top_level; level > 0; --level) {
    const std::string s = std::to_string(Shift(layout, level));
    run += " WHEN ((seq >> " + s + ") + 1) << " + s + " <= " + std::to_string(max_seq + 1) + " THEN " +
           std::to_string(int64_t{level} << kLevelShift) + " | (seq >> " + s + ")";
  }
  return run + " ELSE seq >> " + std::to_string(layout.base_shift) + " END";
}

// A position in a run: entries are ordered by (message_key, seq).
struct Cursor {
  std::string key;
  int64_t seq = 0;
  bool operator<(const Cursor& o) const { return key != o.key ? key < o.key : seq < o.seq; }
};

// The first row's (message_key, seq) of `sql`, with `after` bound as ?1, ?2.
StatusOr<std::optional<Cursor>> ReadCursor(sqlite3* db, const std::string& sql,
                                           const std::optional<Cursor>& after) {
  Stmt q;
  REPRISE_RETURN_IF_ERROR(q.Prepare(db, sql));
  if (after) {
    q.BindText(1, after->key);
    q.BindInt(2, after->seq);
  }
  int rc = sqlite3_step(q.get());
  if (rc == SQLITE_DONE) return std::optional<Cursor>();
  if (rc != SQLITE_ROW) return SqliteError(db, rc, "read key runs");
  return std::optional<Cursor>(Cursor{ColumnText(q.get(), 0), sqlite3_column_int64(q.get(), 1)});
}

// Moves the next chunk of `sources`' entries, in (key, seq) order, into
// `target`.
StatusOr<int64_t> Merge(sqlite3* db, const KeyRunLayout& layout, const std::vector<int64_t>& sources,
                        int64_t target) {
  std::string list;
  for (int64_t s : sources) list += (list.empty() ? "" : ", ") + std::to_string(s);
  REPRISE_RETURN_IF_ERROR(
      Exec(db, ("INSERT OR IGNORE INTO key_runs VALUES (" + std::to_string(target) + ")").c_str()));
  // Entries up to the target's last have moved. (A source may still hold
  // smaller ones when a seq was taken again after the newest messages were
  // deleted; the last step moves them.)
  REPRISE_ASSIGN_OR_RETURN(
      auto lo, ReadCursor(db,
                          "SELECT message_key, seq FROM message_keys WHERE run = " + std::to_string(target) +
                              " ORDER BY message_key DESC, seq DESC LIMIT 1",
                          std::nullopt));
  const std::string after = lo.has_value() ? " AND (message_key, seq) > (?1, ?2)" : "";
  // The chunk ends at the smallest position that closes a share of the
  // chunk in any source, so no source gives more than its share, however
  // many entries one key has.
  const int64_t share = std::max<int64_t>(1, layout.chunk / static_cast<int64_t>(sources.size()));
  std::optional<Cursor> hi;
  for (int64_t s : sources) {
    REPRISE_ASSIGN_OR_RETURN(
        auto c,
        ReadCursor(db,
                   "SELECT message_key, seq FROM message_keys WHERE run = " + std::to_string(s) + after +
                       " ORDER BY message_key, seq LIMIT 1 OFFSET " + std::to_string(share - 1),
                   lo));
    if (c.has_value() && (!hi || *c < *hi)) hi = c;
  }
  // The last step (no source has a full share left) moves everything left.
  const std::string range =
      "run IN (" + list + ")" + (hi ? after + " AND (message_key, seq) <= (?3, ?4)" : "");
  auto run = [&](const std::string& sql) -> StatusOr<int64_t> {
    Stmt q;
    REPRISE_RETURN_IF_ERROR(q.Prepare(db, sql));
    if (hi) {
      if (lo.has_value()) {
        q.BindText(1, (lo)->key);
        q.BindInt(2, (lo)->seq);
      }
      q.BindText(3, hi->key);
      q.BindInt(4, hi->seq);
    }
    if (int rc = sqlite3_step(q.get()); rc != SQLITE_DONE) return SqliteError(db, rc, "merge key runs");
    return static_cast<int64_t>(sqlite3_changes64(db));
  };
  REPRISE_ASSIGN_OR_RETURN(
      auto moved, run("INSERT INTO message_keys (run, message_key, seq) SELECT " + std::to_string(target) +
                      ", message_key, seq FROM message_keys WHERE " + range + " ORDER BY message_key, seq"));
  REPRISE_ASSIGN_OR_RETURN(auto deleted, run("DELETE FROM message_keys WHERE " + range));
  if (deleted != moved) return Internal("merging key runs moved " + std::to_string(moved) +
                                          " entries but removed " + std::to_string(deleted));
  if (!hi) {
    REPRISE_RETURN_IF_ERROR(Exec(db, ("DELETE FROM key_runs WHERE run IN (" + list + ")").c_str()));
  }
  return std::max<int64_t>(1, moved);
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

std::string LevelZeroRunSql(const KeyRunLayout& layout, const std::string& seq) {
  return "((" + seq + ") >> " + std::to_string(Shift(layout, 0)) + ")";
}

std::string ThroughKeyRuns(const std::string& predicate) {
  return "seq IN (SELECT seq FROM message_keys WHERE run IN (SELECT run FROM key_runs) AND " +
         predicate + ")";
}

Status DeleteKeyEntries(sqlite3* db, const KeyRunLayout& layout, const std::string& where, int64_t arg) {
  Stmt rows, del;
  REPRISE_RETURN_IF_ERROR(rows.Prepare(db, "SELECT seq, message_key FROM messages WHERE " + where));
  rows.BindInt(1, arg);
  REPRISE_RETURN_IF_ERROR(
      del.Prepare(db, "DELETE FROM message_keys WHERE run = ?1 AND message_key = ?2 AND seq = ?3"));
  int rc;
  while ((rc = sqlite3_step(rows.get())) == SQLITE_ROW) {
    const int64_t seq = sqlite3_column_int64(rows.get(), 0);
    const std::string key = ColumnText(rows.get(), 1);
    // The entry is in the run of its seq at one of the levels: a seek each.
    for (int level = 0; level <= layout.top_level; ++level) {
      sqlite3_reset(del.get());
      del.BindInt(1, KeyRun(layout, level, seq));
      del.BindText(2, key);
      del.BindInt(3, seq);
      if (int rc2 = sqlite3_step(del.get()); rc2 != SQLITE_DONE) return SqliteError(db, rc2, "delete key entry");
      if (sqlite3_changes64(db) > 0) break;
    }
  }
  if (rc != SQLITE_DONE) return SqliteError(db, rc, "read messages to delete");
  return Exec(db, "DELETE FROM key_runs WHERE NOT EXISTS "
                  "(SELECT 1 FROM message_keys AS k WHERE k.run = key_runs.run)");
}

const char* FromMessages(bool keyed) { return keyed ? " FROM messages NOT INDEXED" : " FROM messages"; }

std::string KeyRunsMigration(const KeyRunLayout& layout, int64_t max_seq) {
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
      SELECT )sql" + HighestCompleteRun(layout, max_seq) + R"sql( AS r, message_key, id, seq FROM messages ORDER BY r, message_key, id;
    INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;
    DROP INDEX messages_by_key;
  )sql";
}

std::string KeyEntriesWithoutIdMigration(const KeyRunLayout& layout, int64_t max_seq) {
  return R"sql(
    CREATE TABLE message_keys_v12 (
      run         INTEGER NOT NULL,
      message_key TEXT    NOT NULL,
      seq         INTEGER NOT NULL,
      PRIMARY KEY (run, message_key, seq)
    ) WITHOUT ROWID;
    INSERT INTO message_keys_v12 (run, message_key, seq)
      SELECT )sql" + HighestCompleteRun(layout, max_seq) + R"sql( AS r, message_key, seq FROM message_keys ORDER BY r, message_key, seq;
    DROP TABLE message_keys;
    ALTER TABLE message_keys_v12 RENAME TO message_keys;
    DELETE FROM key_runs;
    INSERT INTO key_runs SELECT DISTINCT run FROM message_keys;
  )sql";
}

StatusOr<int64_t> CompactKeyRuns(sqlite3* db, const KeyRunLayout& layout) {
  return InWriteTransaction(db, "merged key runs", [&] { return Step(db, layout); });
}

}  // namespace reprise::sqlite
