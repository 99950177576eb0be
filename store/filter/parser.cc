// The filter language: field table, value checks, recursive-descent parser
// and canonical printing. Compilation to SQL is in filter/compiler.cc.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "filter/internal.h"
#include "filter/lexer.h"
#include "reprise/base/did_you_mean.h"
#include "reprise/base/duration.h"
#include "reprise/store/filter.h"
#include "reprise/store/message.h"

namespace reprise::filter {
namespace internal {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Col(int column) { return column > 0 ? " at column " + std::to_string(column) : ""; }

constexpr std::string_view kDirectionNames[] = {"in", "out"};

// Names people reach for that are not ours, and what to use instead.
struct Alias {
  std::string_view from, to;
};
constexpr Alias kAliases[] = {
    {"status", "outcome"},
    {"state", "outcome"},
    {"result", "outcome"},
    {"time", "recorded"},
    {"timestamp", "recorded"},
    {"ts", "recorded"},
    {"date", "recorded"},
    {"recorded_at", "recorded"},
    {"created", "recorded"},
    {"created_at", "recorded"},
    {"message_key", "key"},
    {"correlation_id", "correlation"},
    {"causation_id", "causation"},
    {"cause", "causation"},
    {"origin_id", "origin"},
    {"job_id", "job"},
    {"flow_variant", "variant"},
    {"contenttype", "content_type"},
    {"content-type", "content_type"},
    {"mime", "content_type"},
    {"dir", "direction"},
    {"topic", "channel"},
    {"queue", "channel"},
    {"subject", "channel"},
    {"message_id", "id"},
    {"err", "error"},
    {"retry", "attempt"},
};

std::string FieldList() {
  std::string out;
  for (const FieldSpec& f : FieldSpecs()) {
    if (!out.empty()) out += ", ";
    out += f.name;
    if (f.kind == FieldKind::kHeader) out += ".NAME";
    if (f.kind == FieldKind::kPayload) out += ".PATH";
  }
  return out;
}

// What to suggest for an unknown field name; "" when nothing fits.
std::string SuggestField(std::string_view name) {
  std::string lower = ToLower(name);
  for (const Alias& a : kAliases) {
    if (lower == a.from) return std::string(a.to);
  }
  // "headers.tenant", "body.amount": keep the rest, fix the prefix.
  size_t cut = lower.find_first_of(".[");
  if (cut != std::string::npos && cut > 0) {
    std::string prefix = lower.substr(0, cut);
    std::string rest(name.substr(cut));
    if (rest[0] == '[') rest = "." + rest;
    if (prefix == "body" || prefix == "data" || prefix == "json") return "payload" + rest;
    if (prefix == "hdr") return "header" + rest;
    std::string p = ClosestName(prefix, {"header", "payload"});
    if (!p.empty()) return p + rest;
  }
  // A bare outcome or direction: "failed" alone means outcome = failed.
  for (std::string_view o : kOutcomeNames) {
    if (lower == o) return "outcome = " + lower;
  }
  if (lower == "out") return "direction = out";
  std::vector<std::string_view> names;
  for (const FieldSpec& f : FieldSpecs()) names.push_back(f.name);
  return ClosestName(lower, names);
}

Status BadPath(std::string_view name, int column) {
  return InvalidArgument("filter: bad payload path " + Quoted(name) + Col(column) +
                         "; write payload.KEY.KEY, with array elements as items.0 or items[0]");
}

// Parses what follows "payload": ".a.b", ".items[0].sku", "[0]".
StatusOr<std::vector<PathStep>> ParsePath(std::string_view rest, std::string_view name,
                                          int column) {
  std::vector<PathStep> steps;
  size_t i = 0;
  auto read_index = [&](std::string_view digits, PathStep* step) {
    if (digits.empty() || digits.size() > 9) return false;
    for (char c : digits) {
      if (!IsDigit(c)) return false;
    }
    step->index = *ParseInteger(digits);
    return true;
  };
  while (i < rest.size()) {
    PathStep step;
    if (rest[i] == '.') {
      size_t end = rest.find_first_of(".[]", i + 1);
      if (end == std::string_view::npos) end = rest.size();
      std::string_view key = rest.substr(i + 1, end - i - 1);
      if (key.empty() || key.find('"') != std::string_view::npos) return BadPath(name, column);
      // An all-digit step is an array index: JSON object keys that are
      // numbers are rare, array elements are not.
      if (std::all_of(key.begin(), key.end(), IsDigit)) {
        if (!read_index(key, &step)) return BadPath(name, column);
      } else {
        step.key = std::string(key);
      }
      i = end;
    } else if (rest[i] == '[') {
      size_t close = rest.find(']', i);
      if (close == std::string_view::npos ||
          !read_index(rest.substr(i + 1, close - i - 1), &step)) {
        return BadPath(name, column);
      }
      i = close + 1;
    } else {
      return BadPath(name, column);
    }
    steps.push_back(std::move(step));
  }
  if (steps.empty()) return BadPath(name, column);
  return steps;
}

std::string_view OpsFor(FieldKind kind) {
  switch (kind) {
    case FieldKind::kDirection:
    case FieldKind::kOutcome: return "=, != or in";
    case FieldKind::kAttempt: return "=, !=, <, <=, >, >= or in";
    case FieldKind::kRecorded: return "<, <=, >, >=, = or !=";
    case FieldKind::kFlag: return "= or != (true or false), or the field alone";
    default: return "=, !=, <, <=, >, >=, ~ or in";
  }
}

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  // Howard Hinnant's days_from_civil: proleptic Gregorian, no tables.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `*i`.
bool Digits(std::string_view s, size_t* i, size_t n, int64_t* out) {
  if (*i + n > s.size()) return false;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[*i + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

// RFC 3339 (2026-11-23T10:00:00.5+02:00) or a date (2026-11-23). Sets `why`
// to a short reason on failure when there is a useful one.
bool ParseAbsolute(std::string_view s, TimeSpan* span, std::string* why) {
  auto fail = [why](const char* reason) {
    *why = reason;
    return false;
  };
  size_t i = 0;
  int64_t y, mo, d;
  if (!Digits(s, &i, 4, &y) || i >= s.size() || s[i++] != '-' || !Digits(s, &i, 2, &mo) ||
      i >= s.size() || s[i++] != '-' || !Digits(s, &i, 2, &d)) {
    return false;
  }
  if (mo < 1 || mo > 12) return fail("month must be 01-12");
  if (d < 1 || d > DaysInMonth(y, mo)) return fail("no such day in that month");
  constexpr int64_t kSecond = 1'000'000;
  constexpr int64_t kDay = 86'400 * kSecond;
  int64_t start = DaysFromCivil(y, mo, d) * kDay;
  if (i == s.size()) {
    *span = {start, start + kDay};
    return true;
  }
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
  ++i;
  int64_t h, mi, sec = 0;
  if (!Digits(s, &i, 2, &h) || i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &mi))
    return false;
  int64_t precision = 60 * kSecond;
  if (i < s.size() && s[i] == ':') {
    ++i;
    if (!Digits(s, &i, 2, &sec)) return false;
    precision = kSecond;
    if (i < s.size() && s[i] == '.') {
      ++i;
      int64_t frac_us = 0, scale = kSecond;
      size_t first = i;
      while (i < s.size() && IsDigit(s[i])) {
        // Digits beyond microseconds are accepted and ignored.
        if (scale > 1) {
          scale /= 10;
          frac_us += (s[i] - '0') * scale;
        }
        ++i;
      }
      if (i == first) return false;
      start += frac_us;
      precision = std::max<int64_t>(scale, 1);
    }
  }
  if (h > 23) return fail("hour must be 00-23");
  if (mi > 59) return fail("minutes must be 00-59");
  if (sec > 59) return fail("seconds must be 00-59");
  start += ((h * 60 + mi) * 60 + sec) * kSecond;
  if (i == s.size()) return fail("add a time zone: Z for UTC or an offset like +02:00");
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int64_t sign = s[i] == '-' ? -1 : 1;
    ++i;
    int64_t oh, om;
    if (!Digits(s, &i, 2, &oh) || i >= s.size() || s[i++] != ':' || !Digits(s, &i, 2, &om))
      return false;
    if (oh > 23 || om > 59) return fail("the offset must be between -23:59 and +23:59");
    // 10:00+02:00 is 08:00Z.
    start -= sign * (oh * 60 + om) * 60 * kSecond;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  *span = {start, start + precision};
  return true;
}

}  // namespace

const std::vector<FieldSpec>& FieldSpecs() {
  static const std::vector<FieldSpec> kFields = {
      {"id", "id", FieldKind::kText, "message id (a ULID: sorts by record time)"},
      {"direction", "direction", FieldKind::kDirection, "in (received) or out (sent)"},
      {"channel", "channel", FieldKind::kText, "where the message went, e.g. payments.received"},
      {"key", "message_key", FieldKind::kText, "message key, e.g. account:42"},
      {"correlation", "correlation_id", FieldKind::kOptionalText,
       "id shared by everything one request caused"},
      {"causation", "causation_id", FieldKind::kOptionalText,
       "id of the message that caused this one"},
      {"origin", "origin_id", FieldKind::kOptionalText,
       "on a reflowed copy: id of the message replayed"},
      {"job", "job_id", FieldKind::kOptionalText, "id of the job that produced the record"},
      {"outcome", "outcome", FieldKind::kOutcome, "pending, ok, failed or skipped"},
      {"error", "error", FieldKind::kOptionalText, "error text of a failed message"},
      {"recorded", "recorded_at", FieldKind::kRecorded,
       "record time: 2026-11-23T10:00:00Z, 2026-11-23, or -30m, -2h, -7d"},
      {"attempt", "attempt", FieldKind::kAttempt, "delivery attempt, from 1"},
      {"variant", "flow_variant", FieldKind::kOptionalText,
       "the flow variant that handled the message"},
      {"content_type", "content_type", FieldKind::kOptionalText,
       "payload content type, e.g. application/json"},
      {"resolved", "resolved_by", FieldKind::kFlag,
       "true once a later copy of it (or a re-derived output replacing it) ended ok"},
      {"latest", "", FieldKind::kFlag,
       "true for the newest message of its channel, key and direction (state, not events)"},
      {"header", "headers", FieldKind::kHeader, "header.NAME: the value of header NAME"},
      {"payload", "payload", FieldKind::kPayload,
       "payload.PATH: a value in a JSON payload, e.g. payload.amount, payload.items.0.sku"},
  };
  return kFields;
}

std::string Quoted(std::string_view text) {
  constexpr size_t kShown = 40;
  if (text.size() > kShown) return "\"" + std::string(text.substr(0, kShown - 3)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

std::string_view OpText(Op op) {
  switch (op) {
    case Op::kEq: return "=";
    case Op::kNe: return "!=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kMatch: return "~";
    case Op::kIn: return "in";
  }
  return "?";
}

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return v;
}

std::optional<SqlValue> ParseNumber(std::string_view text) {
  if (ClassifyWord(text) != Value::Kind::kNumber) return std::nullopt;
  if (auto i = ParseInteger(text)) return SqlValue(*i);
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || !std::isfinite(v)) return std::nullopt;
  return SqlValue(v);
}

std::optional<int64_t> EnumCode(FieldKind kind, std::string_view text) {
  if (kind == FieldKind::kOutcome) {
    for (size_t i = 0; i < std::size(kOutcomeNames); ++i) {
      if (EqualsIgnoreCase(text, kOutcomeNames[i])) return static_cast<int64_t>(i + 1);
    }
  } else if (kind == FieldKind::kDirection) {
    for (size_t i = 0; i < std::size(kDirectionNames); ++i) {
      if (EqualsIgnoreCase(text, kDirectionNames[i])) return static_cast<int64_t>(i + 1);
    }
  }
  return std::nullopt;
}

std::optional<bool> FlagValue(std::string_view text) {
  if (EqualsIgnoreCase(text, "true")) return true;
  if (EqualsIgnoreCase(text, "false")) return false;
  return std::nullopt;
}

StatusOr<ResolvedField> ResolveField(std::string_view name, int column) {
  ResolvedField out;
  std::string lower = ToLower(name);
  for (const FieldSpec& f : FieldSpecs()) {
    if (f.kind == FieldKind::kHeader || f.kind == FieldKind::kPayload) continue;
    if (lower == f.name) {
      out.spec = &f;
      out.canonical = std::string(f.name);
      return out;
    }
  }
  auto spec_of = [](FieldKind kind) {
    return &*std::find_if(FieldSpecs().begin(), FieldSpecs().end(),
                          [kind](const FieldSpec& f) { return f.kind == kind; });
  };
  if (lower == "header" || lower == "header.") {
    return InvalidArgument("filter: header needs a name" + Col(column) +
                           "; write header.NAME, e.g. header.tenant = \"acme\"");
  }
  if (lower.rfind("header.", 0) == 0) {
    std::string_view header_name = name.substr(7);
    // Paths are bound as parameters, but a quote would still break the JSON
    // path syntax; bare words cannot contain one, hand-built ASTs might.
    if (header_name.find('"') != std::string_view::npos) {
      return InvalidArgument("filter: bad header name " + Quoted(header_name) + Col(column) +
                             "; header names cannot contain quotes");
    }
    out.spec = spec_of(FieldKind::kHeader);
    out.header = std::string(header_name);
    out.canonical = "header." + out.header;
    return out;
  }
  if (lower == "payload" || lower == "payload.") {
    return InvalidArgument(
        "filter: payload needs a path" + Col(column) +
        "; write payload.PATH, e.g. payload.amount > 100 or payload.items.0.sku = \"A-1\"");
  }
  if (lower.rfind("payload.", 0) == 0 || lower.rfind("payload[", 0) == 0) {
    REPRISE_ASSIGN_OR_RETURN(auto path, ParsePath(name.substr(7), name, column));
    out.spec = spec_of(FieldKind::kPayload);
    out.path = std::move(path);
    out.canonical = "payload";
    for (const PathStep& s : out.path) {
      out.canonical += "." + (s.index >= 0 ? std::to_string(s.index) : s.key);
    }
    return out;
  }
  std::string suggestion = SuggestField(name);
  std::string message = "filter: unknown field " + Quoted(name) + Col(column) + "; ";
  if (!suggestion.empty()) return InvalidArgument(message + "did you mean \"" + suggestion + "\"?");
  return InvalidArgument(message + "use one of " + FieldList());
}

Status CheckOp(const ResolvedField& field, Op op, int column) {
  bool ok = true;
  switch (field.spec->kind) {
    case FieldKind::kDirection:
    case FieldKind::kOutcome:
      // Outcomes and directions are names, not amounts: "outcome < failed"
      // has no meaning a reader could guess, so it is refused.
      ok = op == Op::kEq || op == Op::kNe || op == Op::kIn;
      break;
    case FieldKind::kAttempt: ok = op != Op::kMatch; break;
    case FieldKind::kRecorded: ok = op != Op::kMatch && op != Op::kIn; break;
    case FieldKind::kFlag: ok = op == Op::kEq || op == Op::kNe; break;
    default: break;
  }
  if (ok) return Status::Ok();
  return InvalidArgument("filter: operator \"" + std::string(OpText(op)) + "\" does not apply to " +
                         field.canonical + Col(column) + "; use " +
                         std::string(OpsFor(field.spec->kind)));
}

Status CheckValue(const ResolvedField& field, const Value& value) {
  const FieldKind kind = field.spec->kind;
  switch (kind) {
    case FieldKind::kDirection:
    case FieldKind::kOutcome: {
      if (EnumCode(kind, value.text)) return Status::Ok();
      std::vector<std::string_view> names;
      if (kind == FieldKind::kOutcome)
        names.assign(std::begin(kOutcomeNames), std::end(kOutcomeNames));
      else
        names.assign(std::begin(kDirectionNames), std::end(kDirectionNames));
      std::string list;
      for (std::string_view n : names) list += (list.empty() ? "" : ", ") + std::string(n);
      std::string message = "filter: unknown " + field.canonical + " " + Quoted(value.text) +
                            Col(value.column) + "; expected one of " + list;
      std::string close = ClosestName(value.text, names);
      if (!close.empty()) message += "; did you mean \"" + close + "\"?";
      return InvalidArgument(message);
    }
    case FieldKind::kFlag:
      if (FlagValue(value.text)) return Status::Ok();
      return InvalidArgument("filter: " + field.canonical + " is true or false" + Col(value.column) +
                             ", found " + Quoted(value.text) + "; e.g. not " + field.canonical + " or " +
                             field.canonical + " = false");
    case FieldKind::kAttempt: {
      auto n = ParseInteger(value.text);
      if (n && *n >= 0 && *n <= std::numeric_limits<int32_t>::max()) return Status::Ok();
      return InvalidArgument("filter: attempt needs a whole number" + Col(value.column) +
                             ", found " + Quoted(value.text) + "; e.g. attempt > 1");
    }
    case FieldKind::kRecorded: {
      auto span = ParseTime(value, 0);
      return span.ok() ? Status::Ok() : span.status();
    }
    case FieldKind::kPayload:
      if (value.kind == Value::Kind::kNumber && !ParseNumber(value.text)) {
        return InvalidArgument("filter: number " + Quoted(value.text) + Col(value.column) +
                               " is out of range; quote it to compare it as text");
      }
      return Status::Ok();
    default: return Status::Ok();
  }
}

StatusOr<TimeSpan> ParseTime(const Value& value, int64_t now_us) {
  const std::string& s = value.text;
  std::string why;
  if (ClassifyWord(s) == Value::Kind::kRelativeTime) {
    // Cap relative times at ~3000 years so the arithmetic cannot overflow.
    constexpr int64_t kMaxBackUs = int64_t{100'000'000'000'000'000};
    auto back = ParseDuration(std::string_view(s).substr(1));
    if (back.ok() && back->count() <= kMaxBackUs) {
      int64_t at = now_us - back->count();
      return TimeSpan{at, at + 1};
    }
    why = "too far back";
  } else {
    TimeSpan span;
    if (ParseAbsolute(s, &span, &why)) return span;
  }
  return InvalidArgument("filter: bad time " + Quoted(s) + Col(value.column) +
                         (why.empty() ? "" : " (" + why + ")") +
                         "; write a time like 2026-11-23T10:00:00Z, a date like 2026-11-23, "
                         "or a relative time like -30m, -2h, -7d");
}

}  // namespace internal

using internal::ClassifyWord;
using internal::Quoted;
using internal::Token;
using internal::TokenKind;

const std::vector<FieldInfo>& Fields() {
  static const std::vector<FieldInfo> kInfo = [] {
    std::vector<FieldInfo> out;
    for (const internal::FieldSpec& f : internal::FieldSpecs()) {
      bool prefix =
          f.kind == internal::FieldKind::kHeader || f.kind == internal::FieldKind::kPayload;
      out.push_back(
          {std::string(f.name) + (prefix ? "." : ""), std::string(f.description), prefix});
    }
    return out;
  }();
  return kInfo;
}

const std::vector<std::string>& Keywords() {
  static const std::vector<std::string> kKeywords = [] {
    std::vector<std::string> words = {"and", "or", "not", "in", "out", "true", "false"};
    words.insert(words.end(), std::begin(kOutcomeNames), std::end(kOutcomeNames));
    return words;
  }();
  return kKeywords;
}

namespace {

struct Parsed {
  ExprPtr expr;
  int depth = 0;  // and/or groups and nots, a chain of one operator counting once
};

ExprPtr MakeExpr(std::variant<Comparison, And, Or, Not> node) {
  auto e = std::make_unique<Expr>();
  e->node = std::move(node);
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

  StatusOr<ExprPtr> Run() {
    if (Peek().kind == TokenKind::kEnd) return ExprPtr();  // blank: matches everything
    Parsed p;
    REPRISE_RETURN_IF_ERROR(ParseOr(p));
    if (Peek().kind != TokenKind::kEnd)
      return Unexpected("\"and\", \"or\" or the end of the filter");
    return std::move(p.expr);
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
  }
  Token Take() {
    Token t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool AtKeyword(std::string_view keyword, size_t ahead = 0) const {
    const Token& t = Peek(ahead);
    return t.kind == TokenKind::kWord && internal::ToLower(t.text) == keyword;
  }
  bool AtAnyKeyword() const {
    return AtKeyword("and") || AtKeyword("or") || AtKeyword("not") || AtKeyword("in");
  }
  const Token* Prev() const { return pos_ > 0 ? &toks_[pos_ - 1] : nullptr; }

  static std::string Column(int c) { return " at column " + std::to_string(c); }

  static Status TooDeep(int column) {
    return InvalidArgument("filter: nested too deeply" + Column(column) + "; at most " +
                           std::to_string(kMaxFilterDepth) +
                           " levels of parentheses, not, and/or are allowed; simplify the filter, "
                           "e.g. use in (...) instead of nested or");
  }

  static Status Unbalanced(const Token& open) {
    return InvalidArgument("filter: unbalanced parentheses: \"(\"" + Column(open.column) +
                           " is never closed; add \")\"");
  }

  Status UnmatchedClose() const {
    return InvalidArgument("filter: unbalanced parentheses: \")\"" + Column(Peek().column) +
                           " has no matching \"(\"; remove it or add \"(\" before it");
  }

  // After a complete comparison, something other than and/or/end/")".
  Status Unexpected(std::string_view expected) const {
    const Token& t = Peek();
    if (t.kind == TokenKind::kRParen && depth_ == 0) return UnmatchedClose();
    std::string message = "filter: unexpected " + Quoted(t.text) + Column(t.column) +
                          "; expected " + std::string(expected);
    const Token* prev = Prev();
    if (t.text == "&&") {
      message += "; did you mean \"and\"?";
    } else if (t.text == "||") {
      message += "; did you mean \"or\"?";
    } else if (t.kind == TokenKind::kWord &&
               (Peek(1).kind == TokenKind::kOp || AtKeyword("in", 1))) {
      message += "; did you forget \"and\" or \"or\" before " + Quoted(t.text) + "?";
    } else if ((t.kind == TokenKind::kWord || t.kind == TokenKind::kString) && prev &&
               (prev->kind == TokenKind::kWord || prev->kind == TokenKind::kString)) {
      message += "; to use \"" + prev->text + " " + t.text + "\" as one value, put it in quotes";
    }
    return InvalidArgument(message);
  }

  static int OperandDepth(const Parsed& p, bool is_and) {
    bool same = is_and ? std::holds_alternative<And>(p.expr->node)
                       : std::holds_alternative<Or>(p.expr->node);
    return same ? p.depth - 1 : p.depth;  // a same-operator group merges into the chain
  }

  Status ParseOr(Parsed& out) { return ParseChain(out, /*is_and=*/false); }
  Status ParseAnd(Parsed& out) { return ParseChain(out, /*is_and=*/true); }

  // or_expr := and_expr ("or" and_expr)* ; and_expr := unary ("and" unary)*
  Status ParseChain(Parsed& out, bool is_and) {
    const std::string_view keyword = is_and ? "and" : "or";
    auto operand = [&](Parsed& p) { return is_and ? ParseUnary(p) : ParseAnd(p); };
    REPRISE_RETURN_IF_ERROR(operand(out));
    if (!AtKeyword(keyword)) return Status::Ok();
    int inner = OperandDepth(out, is_and);
    while (AtKeyword(keyword)) {
      Token kw = Take();
      Parsed right;
      REPRISE_RETURN_IF_ERROR(operand(right));
      inner = std::max(inner, OperandDepth(right, is_and));
      if (inner + 1 > kMaxFilterDepth) return TooDeep(kw.column);
      out.expr = is_and ? MakeExpr(And{std::move(out.expr), std::move(right.expr)})
                        : MakeExpr(Or{std::move(out.expr), std::move(right.expr)});
    }
    out.depth = inner + 1;
    return Status::Ok();
  }

  // unary := "not" unary | primary
  Status ParseUnary(Parsed& out) {
    if (!AtKeyword("not")) return ParsePrimary(out);
    Token kw = Take();
    // Bounds the recursion itself, before any tree exists to measure.
    if (++depth_ > kMaxFilterDepth) return TooDeep(kw.column);
    Parsed operand;
    REPRISE_RETURN_IF_ERROR(ParseUnary(operand));
    --depth_;
    if (operand.depth + 1 > kMaxFilterDepth) return TooDeep(kw.column);
    out.expr = MakeExpr(Not{std::move(operand.expr)});
    out.depth = operand.depth + 1;
    return Status::Ok();
  }

  // primary := "(" or_expr ")" | comparison
  Status ParsePrimary(Parsed& out) {
    const Token& t = Peek();
    if (t.kind == TokenKind::kLParen) {
      Token open = Take();
      if (++depth_ > kMaxFilterDepth) return TooDeep(open.column);
      if (Peek().kind == TokenKind::kRParen) {
        return InvalidArgument("filter: empty parentheses" + Column(open.column) +
                               "; put a comparison inside, e.g. (outcome = failed)");
      }
      REPRISE_RETURN_IF_ERROR(ParseOr(out));
      if (Peek().kind == TokenKind::kEnd) return Unbalanced(open);
      if (Peek().kind != TokenKind::kRParen) return Unexpected("\"and\", \"or\" or \")\"");
      Take();
      --depth_;
      return Status::Ok();
    }
    if (t.kind == TokenKind::kWord && !AtAnyKeyword()) return ParseComparison(out);

    const std::string example = "; add one, e.g. outcome = failed";
    switch (t.kind) {
      case TokenKind::kEnd:
        return InvalidArgument("filter: missing comparison after " + Quoted(Prev()->text) +
                               Column(t.column) + example);
      case TokenKind::kRParen:
        if (depth_ == 0) return UnmatchedClose();
        return InvalidArgument("filter: missing comparison before \")\"" + Column(t.column) +
                               example);
      case TokenKind::kOp:
        return InvalidArgument("filter: missing field before " + Quoted(t.text) + Column(t.column) +
                               "; write FIELD " + t.text + " VALUE, e.g. channel " + t.text +
                               " \"orders\"");
      case TokenKind::kComma:
        return InvalidArgument("filter: unexpected \",\"" + Column(t.column) +
                               "; commas only separate the values of in (...)");
      case TokenKind::kString:
        return InvalidArgument("filter: expected a field" + Column(t.column) + ", found " +
                               Quoted(t.text) + "; a comparison starts with a field, e.g. key ~ " +
                               Quoted(t.text));
      default:
        if (AtKeyword("in")) {
          return InvalidArgument(
              "filter: expected a field" + Column(t.column) +
              ", found \"in\"; write FIELD in (VALUE, ...), e.g. outcome in (failed, skipped)");
        }
        return InvalidArgument("filter: missing comparison before " + Quoted(t.text) +
                               Column(t.column) + example);
    }
  }

  static std::string ValueHint(const internal::ResolvedField& f) {
    switch (f.spec->kind) {
      case internal::FieldKind::kOutcome: return "expected one of pending, ok, failed, skipped";
      case internal::FieldKind::kDirection: return "expected one of in, out";
      case internal::FieldKind::kRecorded:
        return "write a time like 2026-11-23T10:00:00Z, a date like 2026-11-23, or -2h";
      case internal::FieldKind::kAttempt: return "write a whole number, e.g. attempt > 1";
      case internal::FieldKind::kFlag: return "write true or false";
      default: return "write a value, in quotes if it contains spaces or symbols";
    }
  }

  Status ParseValue(const internal::ResolvedField& field, Value& out) {
    const Token& t = Peek();
    if (t.kind == TokenKind::kString) {
      out = Value{Value::Kind::kString, t.text, t.column};
      Take();
      return Status::Ok();
    }
    // "in" stays a value: direction = in.
    if (t.kind == TokenKind::kWord && !AtKeyword("and") && !AtKeyword("or") && !AtKeyword("not")) {
      out = Value{ClassifyWord(t.text), t.text, t.column};
      Take();
      return Status::Ok();
    }
    if (t.kind == TokenKind::kWord) {
      return InvalidArgument("filter: missing value for " + field.canonical + Column(t.column) +
                             ", found " + Quoted(t.text) +
                             "; to use the word itself as the value, quote it: " + Quoted(t.text));
    }
    std::string found = t.kind == TokenKind::kEnd ? "" : ", found " + Quoted(t.text);
    return InvalidArgument("filter: missing value for " + field.canonical + " after " +
                           Quoted(Prev()->text) + Column(t.column) + found + "; " +
                           ValueHint(field));
  }

  // comparison := FIELD op value | FIELD ["not"] "in" "(" value ("," value)* ")"
  Status ParseComparison(Parsed& out) {
    Token field_tok = Take();
    REPRISE_ASSIGN_OR_RETURN(auto field, internal::ResolveField(field_tok.text, field_tok.column));

    const Token& t = Peek();
    Comparison cmp;
    cmp.field = field.canonical;
    cmp.column = field_tok.column;
    const int op_column = t.column;
    bool negated = false;
    if (t.kind == TokenKind::kOp) {
      cmp.op = t.op;
      Take();
    } else if (AtKeyword("in")) {
      cmp.op = Op::kIn;
      Take();
    } else if (AtKeyword("not") && AtKeyword("in", 1)) {
      cmp.op = Op::kIn;
      negated = true;
      Take();
      Take();
    } else if (field.spec->kind == internal::FieldKind::kFlag) {
      // The field alone: `resolved` is `resolved = true`.
      cmp.op = Op::kEq;
      cmp.values.push_back(Value{Value::Kind::kWord, "true", field_tok.column});
      out.expr = MakeExpr(std::move(cmp));
      out.depth = 0;
      return Status::Ok();
    } else if (AtKeyword("not")) {
      return InvalidArgument("filter: expected \"in\" after \"not\"" + Column(t.column) +
                             "; to negate a comparison put not before it: not " + cmp.field +
                             " = VALUE");
    } else {
      std::string ops = "; use " + std::string(internal::OpsFor(field.spec->kind));
      if (t.kind == TokenKind::kEnd) {
        return InvalidArgument("filter: missing operator after " + Quoted(field_tok.text) +
                               Column(t.column) + ops);
      }
      return InvalidArgument("filter: expected an operator after " + Quoted(field_tok.text) +
                             Column(t.column) + ", found " + Quoted(t.text) + ops);
    }
    REPRISE_RETURN_IF_ERROR(internal::CheckOp(field, cmp.op, op_column));

    if (cmp.op == Op::kIn) {
      if (Peek().kind != TokenKind::kLParen) {
        return InvalidArgument("filter: expected \"(\" after \"in\"" + Column(Peek().column) +
                               "; write " + cmp.field + " in (VALUE, VALUE)");
      }
      Token open = Take();
      if (Peek().kind == TokenKind::kRParen) {
        return InvalidArgument("filter: empty list" + Column(open.column) +
                               "; put at least one value in the parentheses");
      }
      for (;;) {
        Value v;
        REPRISE_RETURN_IF_ERROR(ParseValue(field, v));
        cmp.values.push_back(std::move(v));
        if (Peek().kind == TokenKind::kComma) {
          Take();
        } else if (Peek().kind == TokenKind::kRParen) {
          Take();
          break;
        } else if (Peek().kind == TokenKind::kEnd) {
          return Unbalanced(open);
        } else {
          return InvalidArgument("filter: expected \",\" or \")\"" + Column(Peek().column) +
                                 ", found " + Quoted(Peek().text) +
                                 "; separate the values of in (...) with commas");
        }
      }
    } else {
      Value v;
      REPRISE_RETURN_IF_ERROR(ParseValue(field, v));
      cmp.values.push_back(std::move(v));
    }
    for (const Value& v : cmp.values) REPRISE_RETURN_IF_ERROR(internal::CheckValue(field, v));

    out.expr = MakeExpr(std::move(cmp));
    out.depth = 0;
    if (negated) {
      out.expr = MakeExpr(Not{std::move(out.expr)});
      out.depth = 1;
    }
    return Status::Ok();
  }

  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;  // open parentheses plus pending nots: bounds the recursion
};

void WriteValue(const Value& v, std::string& out) {
  bool keyword = internal::ToLower(v.text) == "and" || internal::ToLower(v.text) == "or" ||
                 internal::ToLower(v.text) == "not";
  if (v.kind != Value::Kind::kString && internal::IsBareWord(v.text) && !keyword) {
    out += v.text;
    return;
  }
  out += '"';
  for (char c : v.text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void Write(const Expr& e, std::string& out);

// Flattens a chain of one operator so that "a and b and c" prints as one
// group: the printed text then nests no deeper than the filter itself.
template <typename Node>
void CollectChain(const Expr& e, std::vector<const Expr*>& operands) {
  if (const Node* n = std::get_if<Node>(&e.node)) {
    CollectChain<Node>(*n->left, operands);
    CollectChain<Node>(*n->right, operands);
  } else {
    operands.push_back(&e);
  }
}

template <typename Node>
void WriteChain(const Expr& e, std::string_view keyword, std::string& out) {
  std::vector<const Expr*> operands;
  CollectChain<Node>(e, operands);
  out += '(';
  for (size_t i = 0; i < operands.size(); ++i) {
    if (i > 0) out += keyword;
    Write(*operands[i], out);
  }
  out += ')';
}

void Write(const Expr& e, std::string& out) {
  if (const auto* c = std::get_if<Comparison>(&e.node)) {
    out += c->field;
    out += ' ';
    out += internal::OpText(c->op);
    out += ' ';
    if (c->op == Op::kIn) {
      out += '(';
      for (size_t i = 0; i < c->values.size(); ++i) {
        if (i > 0) out += ", ";
        WriteValue(c->values[i], out);
      }
      out += ')';
    } else if (!c->values.empty()) {
      WriteValue(c->values.front(), out);
    }
  } else if (std::holds_alternative<And>(e.node)) {
    WriteChain<And>(e, " and ", out);
  } else if (std::holds_alternative<Or>(e.node)) {
    WriteChain<Or>(e, " or ", out);
  } else if (const auto* n = std::get_if<Not>(&e.node)) {
    out += "not ";
    Write(*n->operand, out);
  }
}

}  // namespace

StatusOr<ExprPtr> Parse(std::string_view text) {
  REPRISE_ASSIGN_OR_RETURN(auto tokens, internal::Lex(text));
  return Parser(std::move(tokens)).Run();
}

std::string ToString(const Expr& e) {
  std::string out;
  Write(e, out);
  return out;
}

}  // namespace reprise::filter
