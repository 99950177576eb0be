// How both journal backends and the filter compiler write a message's
// columns in SQL: the columns a read selects, how a row of them reads back,
// the outcome's value and name. Internal to store/.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "json_text.h"
#include "reprise/store/message.h"

namespace reprise {

// The columns of `messages` a read selects, in the order the backends'
// ReadMessage reads them; the payload's size follows them, then the
// payload itself when it is read (kPayloadColumn).
inline constexpr std::string_view kMessageColumns[] = {
    "id",          "direction", "channel", "message_key", "correlation_id", "causation_id", "headers", "content_type",
    "recorded_at", "outcome",   "error",   "attempt",     "origin_id",      "job_id",       "flow_variant",
    "resolved_by"};
inline constexpr int kPayloadColumn = static_cast<int>(std::size(kMessageColumns)) + 1;

// The outcome a column holds as its value; pending for a value that names
// none.
inline Outcome StoredOutcome(int64_t value) {
  return value >= 1 && value <= static_cast<int64_t>(std::size(kOutcomeNames)) ? static_cast<Outcome>(value)
                                                                               : Outcome::kPending;
}

// `column` of the table named `alias` ("m.payload"), or bare for none.
inline std::string Qualified(std::string_view alias, std::string_view column) {
  return alias.empty() ? std::string(column) : std::string(alias) + "." + std::string(column);
}

// The message in a row of MessageColumns() starting at column `at` (and,
// with_payload, the payload after them). `Row` is a backend's view of the
// current row: text(i), integer(i), real(i) and bytes(i) of its column i
// (sqlite::StmtRow, pg::ResultRow).
template <typename Row>
Message ReadMessageRow(const Row& row, int at, bool with_payload) {
  Message m;
  m.id = row.text(at + 0);
  m.direction = row.integer(at + 1) == 2 ? Direction::kOut : Direction::kIn;
  m.channel = row.text(at + 2);
  m.key = row.text(at + 3);
  m.correlation_id = row.text(at + 4);
  m.causation_id = row.text(at + 5);
  if (auto h = json::DecodeHeaders(row.text(at + 6))) m.headers = std::move(*h);
  m.content_type = row.text(at + 7);
  m.recorded_at_us = row.integer(at + 8);
  m.outcome = StoredOutcome(row.integer(at + 9));
  m.error = row.text(at + 10);
  m.attempt = static_cast<uint32_t>(row.integer(at + 11));
  m.origin_id = row.text(at + 12);
  m.job_id = row.text(at + 13);
  m.flow_variant = row.text(at + 14);
  m.resolved_by = row.text(at + 15);
  m.payload_size = static_cast<uint64_t>(row.integer(at + 16));
  if (with_payload) m.payload = row.bytes(at + kPayloadColumn);
  return m;
}

// kMessageColumns of `alias` ("m.id, m.direction, ..."; "" for bare names),
// then `payload_size`, the SQL of the payload's size.
inline std::string MessageColumns(std::string_view alias, std::string_view payload_size) {
  std::string out;
  for (std::string_view column : kMessageColumns) out += Qualified(alias, column) + ", ";
  return out + std::string(payload_size);
}

// The outcome's name (kOutcomeNames) from the column `outcome`, as SQL;
// `otherwise` for a value that names none ("" for NULL).
inline std::string OutcomeNameSql(std::string_view otherwise = "") {
  std::string sql = "CASE outcome";
  for (size_t i = 0; i < std::size(kOutcomeNames); ++i) {
    sql += " WHEN " + std::to_string(i + 1) + " THEN '" + std::string(kOutcomeNames[i]) + "'";
  }
  if (!otherwise.empty()) sql += " ELSE " + std::string(otherwise);
  return sql + " END";
}

}  // namespace reprise
