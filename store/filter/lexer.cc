#include "filter/lexer.h"

namespace reprise::filter::internal {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsOpChar(char c) { return c == '=' || c == '!' || c == '<' || c == '>' || c == '~'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// UTF-8 continuation bytes do not start a character, so they do not move the column.
bool StartsChar(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }

// Walks the text keeping the 1-based character column of `pos`.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}
  bool done() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance() {
    ++pos_;
    while (pos_ < text_.size() && !StartsChar(text_[pos_])) ++pos_;
    ++column_;
  }
  size_t pos() const { return pos_; }
  int column() const { return column_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int column_ = 1;
};

// Operators people type from other languages, and what we accept instead.
std::string_view OperatorHint(std::string_view op) {
  if (op == "==") return "did you mean \"=\"?";
  if (op == "<>") return "did you mean \"!=\"?";
  if (op == "=<") return "did you mean \"<=\"?";
  if (op == "=>") return "did you mean \">=\"?";
  if (op == "=~" || op == "~=") return "did you mean \"~\"?";
  if (op == "!") return "use != for \"not equal\", or put not before a comparison";
  if (op == "!~") return "write not FIELD ~ VALUE";
  return "use one of = != < <= > >= ~";
}

bool ParseOp(std::string_view s, Op* op) {
  if (s == "=")
    *op = Op::kEq;
  else if (s == "!=")
    *op = Op::kNe;
  else if (s == "<")
    *op = Op::kLt;
  else if (s == "<=")
    *op = Op::kLe;
  else if (s == ">")
    *op = Op::kGt;
  else if (s == ">=")
    *op = Op::kGe;
  else if (s == "~")
    *op = Op::kMatch;
  else
    return false;
  return true;
}

bool IsNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  size_t digits = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  if (i == digits) return false;
  if (i < s.size() && s[i] == '.') {
    size_t frac = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == frac) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == exp) return false;
  }
  return i == s.size();
}

}  // namespace

bool IsDelimiter(char c) {
  return IsSpace(c) || IsOpChar(c) || c == '(' || c == ')' || c == ',' || c == '"' || c == '\'';
}

Value::Kind ClassifyWord(std::string_view word) {
  if (IsNumber(word)) return Value::Kind::kNumber;
  if (word.size() >= 3 && word[0] == '-') {
    char unit = word.back();
    bool digits = true;
    for (char c : word.substr(1, word.size() - 2)) digits = digits && IsDigit(c);
    if (digits && (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd')) {
      return Value::Kind::kRelativeTime;
    }
  }
  return Value::Kind::kWord;
}

bool IsBareWord(std::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    if (IsDelimiter(c)) return false;
  }
  return true;
}

StatusOr<std::vector<Token>> Lex(std::string_view text) {
  size_t chars = 0;
  for (char c : text) chars += StartsChar(c);
  if (chars > kMaxFilterLength) {
    return InvalidArgument("filter: too long (" + std::to_string(chars) +
                           " characters; the limit is " + std::to_string(kMaxFilterLength) +
                           "); shorten it, e.g. use in (...) instead of many or");
  }

  std::vector<Token> tokens;
  Cursor cur(text);
  while (!cur.done()) {
    char c = cur.peek();
    if (IsSpace(c)) {
      cur.advance();
      continue;
    }
    Token tok;
    tok.column = cur.column();
    size_t start = cur.pos();
    if (c == '(' || c == ')' || c == ',') {
      tok.kind = c == '(' ? TokenKind::kLParen : c == ')' ? TokenKind::kRParen : TokenKind::kComma;
      tok.text = std::string(1, c);
      cur.advance();
    } else if (IsOpChar(c)) {
      // Take the whole run so that "==" is reported as one unknown operator
      // rather than "=" followed by a confusing "missing value".
      while (!cur.done() && IsOpChar(cur.peek())) cur.advance();
      tok.kind = TokenKind::kOp;
      tok.text = std::string(text.substr(start, cur.pos() - start));
      if (!ParseOp(tok.text, &tok.op)) {
        return InvalidArgument("filter: unknown operator \"" + tok.text + "\" at column " +
                               std::to_string(tok.column) + "; " +
                               std::string(OperatorHint(tok.text)));
      }
    } else if (c == '"' || c == '\'') {
      const char quote = c;
      tok.kind = TokenKind::kString;
      cur.advance();
      for (;;) {
        if (cur.done()) {
          return InvalidArgument("filter: unterminated string starting at column " +
                                 std::to_string(tok.column) + "; add the closing " +
                                 std::string(1, quote));
        }
        char d = cur.peek();
        if (d == quote) {
          cur.advance();
          break;
        }
        if (d == '\\') {
          int escape_column = cur.column();
          char e = cur.peek(1);
          if (e == '"' || e == '\'' || e == '\\') {
            tok.text += e;
            cur.advance();
            cur.advance();
            continue;
          }
          if (cur.pos() + 1 >= text.size()) {
            return InvalidArgument("filter: unterminated string starting at column " +
                                   std::to_string(tok.column) + "; add the closing " +
                                   std::string(1, quote));
          }
          return InvalidArgument("filter: unknown escape \"\\" + std::string(1, e) +
                                 "\" at column " + std::to_string(escape_column) +
                                 "; inside quotes write \\\" for a quote and \\\\ for a backslash");
        }
        // Copy the whole character (all its UTF-8 bytes).
        size_t from = cur.pos();
        cur.advance();
        tok.text.append(text.substr(from, cur.pos() - from));
      }
    } else {
      tok.kind = TokenKind::kWord;
      while (!cur.done() && !IsDelimiter(cur.peek())) cur.advance();
      tok.text = std::string(text.substr(start, cur.pos() - start));
    }
    tokens.push_back(std::move(tok));
  }
  Token end;
  end.kind = TokenKind::kEnd;
  end.column = cur.column();
  tokens.push_back(std::move(end));
  return tokens;
}

}  // namespace reprise::filter::internal
