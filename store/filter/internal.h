// Private to the filter implementation: the field table and the value checks
// shared by the parser (which reports errors early, with columns) and the
// compiler (which must also accept ASTs built by hand).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/status.h"
#include "reprise/store/filter.h"

namespace reprise::filter::internal {

enum class FieldKind {
  kText,          // NOT NULL text column
  kOptionalText,  // text column that is NULL when empty
  kDirection,     // integer: 1 in, 2 out
  kOutcome,       // integer: 1 pending, 2 ok, 3 failed, 4 skipped
  kRecorded,      // recorded_at, microseconds
  kAttempt,       // integer
  kHeader,        // header.NAME: a key of the headers JSON object
  kPayload,       // payload.PATH: a value inside a JSON payload
  kFlag,          // true or false; the field alone means `= true`
};

struct FieldSpec {
  std::string_view name;    // "channel"; "header" / "payload" for the prefixes
  std::string_view column;  // "message_key"; "headers" / "payload"
  FieldKind kind;
  std::string_view description;
};
const std::vector<FieldSpec>& FieldSpecs();

// One step of a payload path: an object key, or an array index (>= 0).
struct PathStep {
  std::string key;
  int64_t index = -1;
};

struct ResolvedField {
  const FieldSpec* spec = nullptr;
  std::string canonical;       // "channel", "header.tenant", "payload.items.0.sku"
  std::string header;          // kHeader: the header name, as written
  std::vector<PathStep> path;  // kPayload
};

// Looks a field up; unknown fields get a suggestion. `column` is for errors
// (0 when there is no filter text, e.g. a group-by field).
StatusOr<ResolvedField> ResolveField(std::string_view name, int column);
// INVALID_ARGUMENT when `op` does not apply to the field.
Status CheckOp(const ResolvedField& field, Op op, int column);
// INVALID_ARGUMENT when `value` is not valid for the field (unknown outcome,
// bad time, attempt that is not a whole number, ...).
Status CheckValue(const ResolvedField& field, const Value& value);

// 1..2 for direction, 1..4 for outcome (case-insensitive); nullopt if unknown.
std::optional<int64_t> EnumCode(FieldKind kind, std::string_view text);
// true or false (case-insensitive); nullopt for anything else.
std::optional<bool> FlagValue(std::string_view text);

// The span of time a value names: [start_us, end_us). A date names its whole
// (UTC) day, 10:00:00Z its whole second, a relative time one microsecond.
struct TimeSpan {
  int64_t start_us = 0;
  int64_t end_us = 0;
};
StatusOr<TimeSpan> ParseTime(const Value& value, int64_t now_us);

// A whole number literal, if `text` is one and fits in int64.
std::optional<int64_t> ParseInteger(std::string_view text);
// A numeric literal as int64 when whole and in range, else double; nullopt if
// not a finite number.
std::optional<SqlValue> ParseNumber(std::string_view text);

// `text` in double quotes for messages, shortened when long.
std::string Quoted(std::string_view text);

std::string_view OpText(Op op);

}  // namespace reprise::filter::internal
