// Resolution, the rule both journal backends keep at write time: a message
// is resolved when a later message that replays or replaces it ends ok. The
// journal sets `resolved_by` then, in the transaction that records the ok,
// so that `not resolved` is a column test that an index answers rather than
// a lineage walk per query (docs/filter.md). Internal to store/.
#pragma once

#include <string>
#include <string_view>

#include "reprise/store/filter.h"
#include "reprise/store/message.h"

namespace reprise {

// The header a re-derived output carries: the id of the output it replaces.
inline constexpr std::string_view kSupersedesHeader = "reprise-supersedes";

// The message `m` resolves once it ends ok: its origin when it is a
// reflowed copy, else the output it supersedes; "" for none.
inline std::string_view ResolveTarget(const Message& m) {
  if (!m.origin_id.empty()) return m.origin_id;
  auto it = m.headers.find(kSupersedesHeader);
  return it == m.headers.end() ? std::string_view() : std::string_view(it->second);
}

// The same as an SQL expression over a row of `messages` being updated, NULL
// unless the row ended ok (outcome 2) and resolves one.
inline std::string ResolveTargetSql(filter::Dialect dialect) {
  if (dialect == filter::Dialect::kPostgres) {
    return "CASE WHEN m.outcome = 2 THEN COALESCE(m.origin_id, m.headers ->> 'reprise-supersedes') END";
  }
  // instr first: most rows have no such header, and json_extract parses.
  return "CASE WHEN outcome <> 2 THEN NULL WHEN origin_id IS NOT NULL THEN origin_id "
         "WHEN instr(headers, '\"reprise-supersedes\"') > 0 THEN json_extract(headers, '$.\"reprise-supersedes\"') END";
}

// Marks the message (parameter 2) and the originals up its origin chain (a
// copy of a copy counts for the original) resolved by parameter 1, where
// not resolved already. The chain is walked at most 64 steps.
inline std::string ResolveSql(filter::Dialect dialect) {
  const bool pg = dialect == filter::Dialect::kPostgres;
  // COLLATE "C": the recursive term's column (origin_id) has it.
  const std::string by = pg ? "$1::text" : "?1", target = pg ? "$2::text COLLATE \"C\"" : "?2";
  return "WITH RECURSIVE up(id, depth) AS (SELECT " + target +
         ", 0 UNION ALL SELECT m.origin_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.id "
         "WHERE m.origin_id IS NOT NULL AND up.depth < 64) "
         "UPDATE messages SET resolved_by = " + by + " WHERE resolved_by IS NULL AND id IN (SELECT id FROM up)";
}

}  // namespace reprise
