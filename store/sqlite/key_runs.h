// The SQLite journal's key index (schema v8, entries without the message id
// since v12): message_keys, kept in runs.
// Internal to store/.
//
// A B-tree index over random keys costs one random leaf page per insert once
// it outgrows memory: on a 10M-message journal that capped inserts at a few
// thousand a second. Instead, each message's key entry (run, message_key,
// seq) goes into the run of its seq: level-0 runs cover 2^14 consecutive
// seqs, so new entries land in one small region of the B-tree that stays in
// cache. Once a range of seqs is complete, its runs are merged, thirty-two
// to one, into the run of the next level (2^19, 2^24, then 2^29 seqs): a
// merge copies entries in key order into an empty region, which is
// sequential. Each merge moves every entry once, so the fanout is a trade:
// sixteen to one (before v12) moved an entry twice on its way into a run of
// a 10M-message journal, and merges took a third of the writer's time.
// A key lookup seeks once per run listed in key_runs (tens of runs).
//
// Invariant, in every committed state: each message has exactly one entry,
// in a run listed in key_runs.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "reprise/base/status.h"

namespace reprise::sqlite {

struct KeyRunLayout {
  int base_shift = 14;    // a level-0 run covers 2^base_shift seqs
  int fanout_shift = 5;   // a run of level L+1 covers 2^fanout_shift runs of level L
  int top_level = 3;      // runs of this level are never merged
  // About this many entries move per compaction step: a step holds the
  // writer (a few milliseconds) and sorts the chunk in memory.
  int chunk = 4096;
};

// The run that holds `seq`'s entry at `level`: the level in the top bits,
// the block of seqs below.
int64_t KeyRun(const KeyRunLayout& layout, int level, int64_t seq);
int KeyRunLevel(int64_t run);

// KeyRun(layout, 0, seq) in SQL, for `seq` an SQL expression.
std::string LevelZeroRunSql(const KeyRunLayout& layout, const std::string& seq);

// SQL that is true for rows of `messages` whose key matches `predicate`, a
// condition on the column message_key (e.g. "message_key = ?3"): a seek per
// run instead of a scan.
std::string ThroughKeyRuns(const std::string& predicate);

// Deletes the key entries of the messages that match `where` (a condition
// on messages with `arg` as ?1, e.g. "seq > ?1"), and the runs this leaves
// empty; run it in the transaction that deletes those messages, before.
// Four seeks per message.
Status DeleteKeyEntries(sqlite3* db, const KeyRunLayout& layout, const std::string& where, int64_t arg);

// " FROM messages", NOT INDEXED when the filter is `keyed` (see
// filter::CompiledFilter): the rowid is then the only way in, through the key.
const char* FromMessages(bool keyed);

// The schema v8 migration's SQL for a journal whose largest seq is
// `max_seq`: creates message_keys (in its v8 shape, with the message id,
// which v12 drops) and key_runs and fills them, each existing message in the
// highest-level run whose seqs are all taken.
std::string KeyRunsMigration(const KeyRunLayout& layout, int64_t max_seq);

// The schema v12 migration's SQL, the same way: rewrites message_keys
// without the message id, keyed (run, message_key, seq), each entry in the
// highest-level run of `layout` whose seqs are all taken (v12 also moved
// from merges of sixteen runs to merges of thirty-two), and lists the runs
// anew.
std::string KeyEntriesWithoutIdMigration(const KeyRunLayout& layout, int64_t max_seq);

// One bounded step of merging, in its own transaction (the caller holds the
// writer): moves about layout.chunk entries (at most that many per source
// run, and the last step of a merge whatever is left) of the lowest
// complete range into its next-level run. Returns the entries moved; 0 when there is
// nothing to merge.
StatusOr<int64_t> CompactKeyRuns(sqlite3* db, const KeyRunLayout& layout);

}  // namespace reprise::sqlite
