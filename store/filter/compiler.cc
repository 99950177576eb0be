// Compiles a filter AST to a parameterized SQL condition over the journal's
// `messages` table, for SQLite or PostgreSQL. User values only ever travel as
// bound parameters, JSON paths and header names included.
//
// NULL handling: optional text columns are NULL when empty, and the language
// treats them as "". A comparison may still come out NULL (e.g. `origin = X`
// on a message without origin, kept as `origin_id = ?` so it can use an
// index); such results are marked nullable and `not` compiles them to
// IS NOT TRUE. Since and/or are monotone, that one rule makes every
// filter two-valued: `not origin = X` selects the same rows as `origin != X`.
#include <algorithm>
#include <type_traits>

#include "filter/internal.h"
#include "message_sql.h"
#include "reprise/base/ulid.h"
#include "reprise/store/filter.h"
#include "sqlite/journal.h"
#include "sqlite/key_runs.h"

namespace reprise::filter {
namespace {

using internal::FieldKind;
using internal::ResolvedField;

struct Sql {
  std::string text;  // safe as an operand of AND / OR / NOT without parentheses
  bool nullable = false;
  bool keyed = false;  // a conjunct restricts the key through the key index
};

std::string SqlOp(Op op) {
  switch (op) {
    case Op::kEq: return "=";
    case Op::kNe: return "<>";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    default: return "=";
  }
}

bool IsGlob(std::string_view v) { return v.find_first_of("*?") != std::string_view::npos; }

template <typename Node>
void CollectChain(const Expr& e, std::vector<const Expr*>& operands) {
  if (const Node* n = std::get_if<Node>(&e.node)) {
    if (!n->left || !n->right) {
      operands.push_back(nullptr);
      return;
    }
    CollectChain<Node>(*n->left, operands);
    CollectChain<Node>(*n->right, operands);
  } else {
    operands.push_back(&e);
  }
}

// Number of comparisons in `e`.
size_t Size(const Expr& e) {
  if (const auto* a = std::get_if<And>(&e.node))
    return (a->left ? Size(*a->left) : 0) + (a->right ? Size(*a->right) : 0);
  if (const auto* o = std::get_if<Or>(&e.node))
    return (o->left ? Size(*o->left) : 0) + (o->right ? Size(*o->right) : 0);
  if (const auto* n = std::get_if<Not>(&e.node)) return n->operand ? Size(*n->operand) : 0;
  return 1;
}

class Compiler {
 public:
  explicit Compiler(const CompileOptions& options) : opt_(options), next_(options.first_param) {}

  std::vector<SqlValue> TakeParams() { return std::move(params_); }

  StatusOr<Sql> Node(const Expr& e) {
    if (const auto* c = std::get_if<Comparison>(&e.node)) return Compare(*c);
    if (std::holds_alternative<And>(e.node)) return Chain<And>(e, " AND ");
    if (std::holds_alternative<Or>(e.node)) return Chain<Or>(e, " OR ");
    const Not& n = std::get<Not>(e.node);
    if (!n.operand) return InvalidArgument("filter: \"not\" without an operand");
    // `not resolved` as `resolved_by IS NULL`, the words of the SQLite
    // journal's partial index of unresolved outcomes.
    if (const auto* c = std::get_if<Comparison>(&n.operand->node)) {
      REPRISE_ASSIGN_OR_RETURN(auto field, internal::ResolveField(c->field, c->column));
      if (field.spec->kind == FieldKind::kFlag) return Compare(*c, /*negated=*/true);
    }
    REPRISE_ASSIGN_OR_RETURN(auto inner, Node(*n.operand));
    // IS NOT TRUE is NOT COALESCE(x, FALSE) in postfix form: postfix keeps
    // SQLite's fixed-size parser stack from growing with each level.
    if (inner.nullable) {
      bool grouped = std::holds_alternative<And>(n.operand->node) ||
                     std::holds_alternative<Or>(n.operand->node);
      return Sql{(grouped ? inner.text : "(" + inner.text + ")") + " IS NOT TRUE", false};
    }
    return Sql{"NOT " + inner.text, false};
  }

  // The expression counts are grouped by.
  StatusOr<std::string> GroupExpr(std::string_view name) {
    REPRISE_ASSIGN_OR_RETURN(auto field, internal::ResolveField(name, 0));
    const std::string column(field.spec->column);
    switch (field.spec->kind) {
      case FieldKind::kText:
        if (field.canonical == "id") break;
        return column;
      case FieldKind::kOptionalText: return "COALESCE(" + column + ", '')";
      case FieldKind::kDirection:
        return std::string(
            "CASE direction WHEN 1 THEN 'in' WHEN 2 THEN 'out' ELSE CAST(direction AS TEXT) END");
      case FieldKind::kOutcome:
        return OutcomeNameSql("CAST(outcome AS TEXT)");
      case FieldKind::kAttempt: return std::string("CAST(attempt AS TEXT)");
      case FieldKind::kHeader: return "COALESCE(" + HeaderValue(field) + ", '')";
      case FieldKind::kPayload: {
        std::string path = BindPath(field);
        return "COALESCE(" + PayloadText(path) + ", '')";
      }
      case FieldKind::kRecorded: break;
      case FieldKind::kFlag:
        if (field.canonical == "latest") break;
        return "CASE WHEN " + column + " IS NULL THEN 'false' ELSE 'true' END";
    }
    return InvalidArgument(
        "filter: cannot group by " + field.canonical +
        ": every message has its own; group by one of channel, key, outcome, direction, "
        "job, origin, error, correlation, causation, attempt, content_type, variant, "
        "header.NAME, payload.PATH");
  }

 private:
  bool pg() const { return opt_.dialect == Dialect::kPostgres; }

  // Binds a parameter and returns its placeholder. PostgreSQL gets an
  // explicit type so that inference never depends on context (lower($1) is
  // ambiguous otherwise).
  std::string Bind(SqlValue v, std::string_view pg_type) {
    int n = next_++;
    params_.push_back(std::move(v));
    if (pg()) return "$" + std::to_string(n) + "::" + std::string(pg_type);
    return "?" + std::to_string(n);
  }
  std::string BindText(std::string s) { return Bind(std::move(s), "text"); }
  // Payload numbers compare as numeric in PostgreSQL (exact, any size).
  std::string BindNumber(const SqlValue& v) { return Bind(v, "numeric"); }

  template <typename NodeT>
  StatusOr<Sql> Chain(const Expr& e, std::string_view sql_op) {
    // Flattened so that long chains do not nest parentheses in the SQL.
    std::vector<const Expr*> operands;
    CollectChain<NodeT>(e, operands);
    if (std::find(operands.begin(), operands.end(), nullptr) != operands.end()) {
      return InvalidArgument("filter: and/or without an operand");
    }
    // Largest operand first. SQLite 3.40's parser stack holds 100 entries and
    // "a OR (b AND (c OR ...))" costs three per level, while "((... OR c)
    // AND b) OR a" costs one; the order of and/or operands does not change
    // the result.
    std::vector<std::pair<size_t, const Expr*>> sized;
    for (const Expr* op : operands) sized.emplace_back(Size(*op), op);
    std::stable_sort(sized.begin(), sized.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < sized.size(); ++i) operands[i] = sized[i].second;
    Sql out{"(", false};
    for (size_t i = 0; i < operands.size(); ++i) {
      REPRISE_ASSIGN_OR_RETURN(auto s, Node(*operands[i]));
      if (i > 0) out.text += sql_op;
      out.text += s.text;
      out.nullable = out.nullable || s.nullable;
      out.keyed = out.keyed || (std::is_same_v<NodeT, And> && s.keyed);
    }
    out.text += ")";
    return out;
  }

  StatusOr<Sql> Compare(const Comparison& c, bool negated = false) {
    REPRISE_ASSIGN_OR_RETURN(auto field, internal::ResolveField(c.field, c.column));
    REPRISE_RETURN_IF_ERROR(internal::CheckOp(field, c.op, c.column));
    if (c.values.empty() || (c.op != Op::kIn && c.values.size() != 1)) {
      return InvalidArgument("filter: comparison on " + field.canonical + " needs " +
                             (c.op == Op::kIn ? "at least one value" : "exactly one value"));
    }
    for (const Value& v : c.values) REPRISE_RETURN_IF_ERROR(internal::CheckValue(field, v));

    const std::string column(field.spec->column);
    switch (field.spec->kind) {
      case FieldKind::kText: {
        Sql sql = CompareText(column, false, c);
        // Conditions a run's entries can answer by seeks or a range; `!=`
        // and substrings would read every entry anyway.
        const bool seekable = c.op != Op::kNe && (c.op != Op::kMatch || IsGlob(c.values[0].text));
        if (opt_.sqlite_journal && !pg() && column == "message_key" && seekable) {
          sql.text = sqlite::ThroughKeyRuns(sql.text);
          // A glob or a range may match most keys: the planner keeps its
          // other choices then.
          sql.keyed = c.op == Op::kEq || c.op == Op::kIn;
        }
        return sql;
      }
      case FieldKind::kOptionalText: {
        std::string indexable;
        Sql sql = CompareText(column, true, c, &indexable);
        if (opt_.sqlite_journal && !pg() && column == "correlation_id" && !indexable.empty()) {
          sql.text = CorrelationThroughIndexes(indexable);
        }
        return sql;
      }
      case FieldKind::kHeader: return CompareText(HeaderValue(field), true, c);
      case FieldKind::kPayload: return ComparePayload(field, c);
      case FieldKind::kRecorded: return CompareTime(c);
      case FieldKind::kFlag: {
        const bool want = (*internal::FlagValue(c.values[0].text) != (c.op == Op::kNe)) != negated;
        if (field.canonical == "latest") return Sql{(want ? "NOT " : "") + NewerExists(), false};
        return Sql{column + (want ? " IS NOT NULL" : " IS NULL"), false};
      }
      case FieldKind::kDirection:
      case FieldKind::kOutcome:
      case FieldKind::kAttempt: {
        std::vector<int64_t> ints;
        for (const Value& v : c.values) {
          ints.push_back(field.spec->kind == FieldKind::kAttempt
                             ? *internal::ParseInteger(v.text)
                             : *internal::EnumCode(field.spec->kind, v.text));
        }
        std::string sql;
        if (c.op == Op::kIn) {
          std::string list;
          for (int64_t i : ints) list += (list.empty() ? "" : ", ") + Bind(i, "bigint");
          sql = column + " IN (" + list + ")";
        } else {
          sql = column + " " + SqlOp(c.op) + " " + Bind(ints[0], "bigint");
        }
        // The SQLite journal's outcome index leaves ok rows out, and SQLite
        // uses a partial index only when the query states its condition in
        // the same words: say it when looking for other outcomes.
        constexpr int64_t kOk = static_cast<int64_t>(Outcome::kOk);
        const bool indexed = (c.op == Op::kEq || c.op == Op::kIn) &&
                             std::find(ints.begin(), ints.end(), kOk) == ints.end();
        if (opt_.sqlite_journal && !pg() && field.spec->kind == FieldKind::kOutcome && indexed) {
          sql = "(" + sql + " AND " + sqlite::kIndexedOutcomes + ")";
        }
        return Sql{sql, false};
      }
    }
    return InvalidArgument("filter: unsupported field " + field.canonical);
  }

  // `expr` is a text expression; `optional` when it may be NULL, which then
  // reads as "". When the comparison is on the bare `expr`, so that an index
  // of it serves (`= ?N`, `IN (...)`), `indexable` (if given) receives its
  // right-hand side.
  Sql CompareText(const std::string& expr, bool optional, const Comparison& c,
                  std::string* indexable = nullptr) {
    const std::string coalesced = optional ? "COALESCE(" + expr + ", '')" : expr;
    auto on_bare = [&](std::string rhs) {
      if (indexable) *indexable = rhs;
      return Sql{expr + rhs, true};
    };
    switch (c.op) {
      case Op::kEq: {
        const std::string& v = c.values[0].text;
        // `col = ?` keeps the index usable; only "" must also match NULL.
        if (optional && !v.empty()) return on_bare(" = " + BindText(v));
        return {coalesced + " = " + BindText(v), false};
      }
      case Op::kIn: {
        bool any_empty = std::any_of(c.values.begin(), c.values.end(),
                                     [](const Value& v) { return v.text.empty(); });
        std::string list;
        for (const Value& v : c.values) list += (list.empty() ? "" : ", ") + BindText(v.text);
        if (optional && !any_empty) return on_bare(" IN (" + list + ")");
        return {coalesced + " IN (" + list + ")", false};
      }
      case Op::kMatch: return Match(coalesced, c.values[0].text);
      default: return {coalesced + " " + SqlOp(c.op) + " " + BindText(c.values[0].text), false};
    }
  }

  // `latest` is `NOT` this: a later message of the row's channel, key and
  // direction exists. The SQLite journal finds the key's later messages in
  // its key index (a seek per run; seq is the order of writing), PostgreSQL
  // in its key index (message_key, id).
  std::string NewerExists() const {
    if (opt_.sqlite_journal && !pg()) {
      return "EXISTS (SELECT 1 FROM message_keys k JOIN messages n ON n.seq = k.seq "
             "WHERE k.run IN (SELECT run FROM key_runs) AND k.message_key = messages.message_key "
             "AND k.seq > messages.seq AND n.channel = messages.channel AND n.direction = messages.direction)";
    }
    return "EXISTS (SELECT 1 FROM messages n WHERE n.message_key = messages.message_key "
           "AND n.id > messages.id AND n.channel = messages.channel AND n.direction = messages.direction)";
  }

  // The SQLite journal's correlation index leaves out the messages that are
  // their own correlation (schema v13): `correlation_id = X` is asked as
  // "an indexed entry for X, or the message X if it is its own correlation",
  // each part stated in the words of its index so that both are searched.
  // `values` is CompareText's indexable right-hand side, `= ?N` or `IN
  // (...)`; both parts use its placeholders.
  static std::string CorrelationThroughIndexes(const std::string& values) {
    return "((correlation_id" + values + " AND " + sqlite::kCorrelationIndexCondition + ") OR (id" +
           values + " AND correlation_id = id))";
  }

  // `~`: a glob (anchored, case-sensitive) when the value has * or ?,
  // otherwise a case-insensitive substring test.
  Sql Match(const std::string& expr, const std::string& value) {
    if (IsGlob(value)) {
      std::string pattern;
      if (pg()) {
        for (char ch : value) {
          if (ch == '*')
            pattern += '%';
          else if (ch == '?')
            pattern += '_';
          else if (ch == '%' || ch == '_' || ch == '\\')
            pattern += std::string("\\") + ch;
          else
            pattern += ch;
        }
        return {expr + " LIKE " + BindText(pattern), false};
      }
      // SQLite's GLOB also has [...] classes; "[[]" is a literal "[", so the
      // language has exactly two wildcards on both backends.
      for (char ch : value) pattern += ch == '[' ? std::string("[[]") : std::string(1, ch);
      return {expr + " GLOB " + BindText(pattern), false};
    }
    if (pg()) return {"strpos(lower(" + expr + "), lower(" + BindText(value) + ")) > 0", false};
    return {"instr(lower(" + expr + "), lower(" + BindText(value) + ")) > 0", false};
  }

  std::string HeaderValue(const ResolvedField& f) {
    if (pg()) return "(headers ->> " + BindText(f.header) + ")";
    return "json_extract(headers, " + BindText("$.\"" + f.header + "\"") + ")";
  }

  std::string BindPath(const ResolvedField& f) {
    std::string path;
    if (pg()) {
      // A text[] literal: {"items","0","sku"}.
      path = "{";
      for (size_t i = 0; i < f.path.size(); ++i) {
        if (i > 0) path += ',';
        path += '"';
        std::string step = f.path[i].index >= 0 ? std::to_string(f.path[i].index) : f.path[i].key;
        for (char ch : step) {
          if (ch == '"' || ch == '\\') path += '\\';
          path += ch;
        }
        path += '"';
      }
      path += "}";
      return Bind(path, "text[]");
    }
    path = "$";
    for (const internal::PathStep& s : f.path) {
      path += s.index >= 0 ? "[" + std::to_string(s.index) + "]" : ".\"" + s.key + "\"";
    }
    return BindText(path);
  }

  // SQLite 3.40's JSON functions reject BLOBs and raise errors on text that
  // is not JSON: read the payload as text, and only when it is valid JSON.
  static std::string SqliteJson() {
    return "CASE WHEN json_valid(CAST(payload AS TEXT)) THEN CAST(payload AS TEXT) END";
  }

  // The payload value as text (NULL when missing or JSON null). Booleans read
  // as true/false on both backends.
  std::string PayloadText(const std::string& path) {
    if (pg()) return "(payload_json #>> " + path + ")";
    const std::string j = SqliteJson();
    return "CASE json_type(" + j + ", " + path +
           ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' " + "ELSE CAST(json_extract(" + j +
           ", " + path + ") AS TEXT) END";
  }

  // The payload value as a number, NULL unless it is a JSON number (so text
  // never reaches a numeric cast and cannot raise an error).
  std::string PayloadNumber(const std::string& path) {
    if (pg()) {
      return "CASE WHEN jsonb_typeof(payload_json #> " + path +
             ") = 'number' THEN (payload_json #>> " + path + ")::numeric END";
    }
    const std::string j = SqliteJson();
    return "CASE WHEN json_type(" + j + ", " + path +
           ") IN ('integer', 'real') THEN json_extract(" + j + ", " + path + ") END";
  }

  Sql ComparePayload(const ResolvedField& f, const Comparison& c) {
    const std::string path = BindPath(f);
    auto is_number = [](const Value& v) { return v.kind == Value::Kind::kNumber; };
    const bool any_number = std::any_of(c.values.begin(), c.values.end(), is_number);
    if (c.op == Op::kMatch || !any_number) return CompareText(PayloadText(path), true, c);

    const std::string number = PayloadNumber(path);
    auto bind_number = [&](const Value& v) { return BindNumber(*internal::ParseNumber(v.text)); };
    switch (c.op) {
      case Op::kIn: {
        // Numbers and strings may mix: one test per value.
        std::string text_expr = PayloadText(path);
        std::string out = "(";
        for (size_t i = 0; i < c.values.size(); ++i) {
          const Value& v = c.values[i];
          if (i > 0) out += " OR ";
          if (is_number(v)) {
            out += number + " = " + bind_number(v);
          } else if (v.text.empty()) {
            out += "COALESCE(" + text_expr + ", '') = " + BindText(v.text);
          } else {
            out += text_expr + " = " + BindText(v.text);
          }
        }
        return {out + ")", true};
      }
      case Op::kNe:
        // != is the exact negation of =: a missing or non-numeric value is
        // "not equal".
        return {"COALESCE(" + number + " <> " + bind_number(c.values[0]) + ", TRUE)", false};
      default: return {number + " " + SqlOp(c.op) + " " + bind_number(c.values[0]), true};
    }
  }

  // A time names a span [start, end): a date its day, 10:00:00Z its second,
  // -2h one microsecond. `=` means within the span, `<` before it, `>` after
  // it. Lower bounds also bound `id`: a ULID's first 10 characters are the
  // millisecond it was made, never earlier than recorded_at, so the id index
  // can serve time ranges.
  StatusOr<Sql> CompareTime(const Comparison& c) {
    REPRISE_ASSIGN_OR_RETURN(auto span, internal::ParseTime(c.values[0], opt_.now_us));
    const int64_t start = span.start_us, end = span.end_us;
    const bool instant = end - start == 1;
    std::string cond;
    int64_t lower = -1;  // inclusive lower bound on recorded_at, when there is one
    switch (c.op) {
      // Each Bind in its own statement: parameters are numbered in call
      // order, and the operands of + are unsequenced.
      case Op::kEq:
        cond = instant ? "recorded_at = " : "recorded_at >= ";
        cond += Bind(start, "bigint");
        if (!instant) cond += " AND recorded_at < " + Bind(end, "bigint");
        lower = start;
        break;
      case Op::kNe: {
        if (instant) return Sql{"recorded_at <> " + Bind(start, "bigint"), false};
        std::string before = Bind(start, "bigint");
        std::string after = Bind(end, "bigint");
        return Sql{"(recorded_at < " + before + " OR recorded_at >= " + after + ")", false};
      }
      case Op::kLt: return Sql{"recorded_at < " + Bind(start, "bigint"), false};
      case Op::kLe:
        if (instant) return Sql{"recorded_at <= " + Bind(start, "bigint"), false};
        return Sql{"recorded_at < " + Bind(end, "bigint"), false};
      case Op::kGt:
        cond = instant ? "recorded_at > " + Bind(start, "bigint")
                       : "recorded_at >= " + Bind(end, "bigint");
        lower = end;
        break;
      case Op::kGe:
        cond = "recorded_at >= " + Bind(start, "bigint");
        lower = start;
        break;
      default: return InvalidArgument("filter: operator does not apply to recorded");
    }
    if (lower < 0) return Sql{instant ? cond : "(" + cond + ")", false};
    return Sql{"(" + cond + " AND id >= " + BindText(UlidLowerBound(lower / 1000)) + ")", false};
  }

  CompileOptions opt_;
  int next_;
  std::vector<SqlValue> params_;
};

Status CheckOptions(const CompileOptions& options) {
  if (options.first_param < 1) {
    return InvalidArgument("filter: first_param must be 1 or more, got " +
                           std::to_string(options.first_param));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<CompiledFilter> Compile(const Expr* expr, const CompileOptions& options) {
  REPRISE_RETURN_IF_ERROR(CheckOptions(options));
  if (expr == nullptr) return CompiledFilter{"1=1", {}};
  Compiler compiler(options);
  REPRISE_ASSIGN_OR_RETURN(auto sql, compiler.Node(*expr));
  return CompiledFilter{std::move(sql.text), compiler.TakeParams(), sql.keyed};
}

StatusOr<CompiledFilter> Compile(std::string_view text, const CompileOptions& options) {
  REPRISE_ASSIGN_OR_RETURN(auto expr, Parse(text));
  return Compile(expr.get(), options);
}

StatusOr<CompiledFilter> CompileGroupBy(std::string_view field, const CompileOptions& options) {
  REPRISE_RETURN_IF_ERROR(CheckOptions(options));
  // No field: one group, named "".
  if (field.find_first_not_of(" \t") == std::string_view::npos) return CompiledFilter{"''", {}};
  field = field.substr(field.find_first_not_of(" \t"));
  field = field.substr(0, field.find_last_not_of(" \t") + 1);
  Compiler compiler(options);
  REPRISE_ASSIGN_OR_RETURN(auto expr, compiler.GroupExpr(field));
  return CompiledFilter{std::move(expr), compiler.TakeParams()};
}

}  // namespace reprise::filter
