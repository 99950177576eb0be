// The filter language: selects messages for the console and the API.
//
//   channel = "payments.received" and outcome = failed and recorded > -2h
//   key ~ "account:4*" or error ~ "timeout"
//   direction = out and payload.amount > 100
//   outcome in (failed, skipped) and not header.tenant = "acme"
//
// A filter is parsed into an AST and compiled to a parameterized SQL condition
// for one of the journal's backends. Values never enter the SQL text: they
// travel as bound parameters. See docs/filter.md for the full grammar.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise::filter {

// Limits that keep a hostile or mistaken filter cheap to reject.
inline constexpr size_t kMaxFilterLength = 4096;  // characters
inline constexpr int kMaxFilterDepth = 32;        // nesting of and/or/not/()

// One field of the language, for help text and console completion.
struct FieldInfo {
  std::string name;         // "channel", or "header." / "payload." for prefixes
  std::string description;  // one line
  bool is_prefix = false;   // header.NAME, payload.PATH
};
REPRISE_EXPORT const std::vector<FieldInfo>& Fields();
// Keywords and enumerated values a completer may offer after a field/operator.
REPRISE_EXPORT const std::vector<std::string>& Keywords();  // and, or, not, in, failed, ok, ...

// AST ---------------------------------------------------------------------
enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMatch /* ~ */, kIn };

struct Value {
  enum class Kind { kString, kNumber, kWord, kRelativeTime };
  Kind kind = Kind::kString;
  std::string text;  // as written (unquoted for strings)
  int column = 0;    // 1-based column in the filter text
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Comparison {
  std::string field;  // canonical: "channel", "header.tenant", "payload.a.b"
  Op op = Op::kEq;
  std::vector<Value> values;  // one, or several for `in`
  int column = 0;
};
struct And { ExprPtr left, right; };
struct Or { ExprPtr left, right; };
struct Not { ExprPtr operand; };

struct Expr {
  std::variant<Comparison, And, Or, Not> node;
};

// Parses `text`. An empty or all-blank filter yields nullptr (matches all).
// Errors are INVALID_ARGUMENT with the column and, where one is close, a
// suggestion: `filter: unknown field "chanel" at column 1; did you mean "channel"?`
REPRISE_EXPORT StatusOr<ExprPtr> Parse(std::string_view text);

// Canonical text of an AST (every and/or group in parentheses, so precedence
// is explicit; `not` binds to what follows); used by tests and audit.
REPRISE_EXPORT std::string ToString(const Expr& e);

// Compilation -----------------------------------------------------------------
enum class Dialect { kSqlite, kPostgres };

using SqlValue = std::variant<int64_t, double, std::string>;

struct CompiledFilter {
  std::string where;             // SQL boolean expression; "1=1" when no filter
  std::vector<SqlValue> params;  // bound in order: ?1.. (SQLite) or $1.. (PostgreSQL)
  // With sqlite_journal: every match satisfies a key equality or list answered
  // from the key index. Select FROM messages NOT INDEXED then: SQLite's planner would
  // otherwise walk a channel or outcome index and test each row's key.
  bool keyed = false;
};

struct CompileOptions {
  Dialect dialect = Dialect::kSqlite;
  int64_t now_us = 0;      // anchors relative times such as -2h
  int first_param = 1;     // number of the first placeholder to emit
  // The SQLite journal's schema (v13): `key` equality, lists, ranges and
  // globs are answered from the key index (message_keys) rather than the
  // column; `outcome` equality and lists of pending, failed and skipped also
  // state the condition of the partial outcome index, so that SQLite uses it;
  // `correlation` equality and lists ask the partial correlation index and,
  // for messages that are their own correlation, the id index.
  bool sqlite_journal = false;
};

// Compiles a parsed filter against the journal's `messages` table (columns are
// listed in docs/architecture.md). `expr` may be nullptr (matches all).
REPRISE_EXPORT StatusOr<CompiledFilter> Compile(const Expr* expr, const CompileOptions& options);
// Parse + Compile.
REPRISE_EXPORT StatusOr<CompiledFilter> Compile(std::string_view text, const CompileOptions& options);

// The SQL expression to group counts by `field` (e.g. "channel", "outcome",
// "header.tenant"); INVALID_ARGUMENT with a suggestion for an unknown field.
REPRISE_EXPORT StatusOr<CompiledFilter> CompileGroupBy(std::string_view field, const CompileOptions& options);

}  // namespace reprise::filter
