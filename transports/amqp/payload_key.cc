#include "payload_key.h"

#include <cctype>

namespace reprise::amqp {
namespace {

// A forward-only reader of one JSON text: enough to find a member, not to
// validate a document (a broken one just yields no key).
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool Consume(char c) {
    SkipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return i_ < s_.size() ? s_[i_] : '\0';
  }

  // A string literal at the cursor, unescaped (\uXXXX as UTF-8, BMP only).
  std::optional<std::string> String() {
    if (!Consume('"')) return std::nullopt;
    std::string out;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return std::nullopt;
      const char e = s_[i_++];
      switch (e) {
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return std::nullopt;
          unsigned cp = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = s_[i_++];
            if (!std::isxdigit(static_cast<unsigned char>(h))) return std::nullopt;
            cp = cp * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0'
                                                                                         : (h | 0x20) - 'a' + 10);
          }
          if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: out.push_back(e);  // \" \\ \/
      }
    }
    return std::nullopt;
  }

  // A number or true/false/null at the cursor, as written.
  std::string Literal() {
    SkipSpace();
    const size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '+' || s_[i_] == '.')) {
      ++i_;
    }
    return std::string(s_.substr(start, i_ - start));
  }

  // Skips one value of any type; false on a broken text.
  bool Skip(int depth = 0) {
    if (depth > 64) return false;
    const char c = Peek();
    if (c == '"') return String().has_value();
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++i_;
      if (Consume(close)) return true;
      do {
        if (c == '{' && (!String() || !Consume(':'))) return false;
        if (!Skip(depth + 1)) return false;
      } while (Consume(','));
      return Consume(close);
    }
    return !Literal().empty();
  }

 private:
  void SkipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<std::string> PayloadField(std::string_view payload, std::string_view path) {
  Reader r(payload);
  while (true) {
    const size_t dot = path.find('.');
    const std::string_view name = path.substr(0, dot);
    if (!r.Consume('{')) return std::nullopt;
    bool found = false;
    if (!r.Consume('}')) {
      do {
        auto member = r.String();
        if (!member || !r.Consume(':')) return std::nullopt;
        if (*member == name) {
          found = true;
          break;
        }
        if (!r.Skip()) return std::nullopt;
      } while (r.Consume(','));
    }
    if (!found) return std::nullopt;
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  const char c = r.Peek();
  if (c == '"') return r.String();
  if (c == '{' || c == '[') return std::nullopt;
  std::string literal = r.Literal();
  if (literal.empty() || literal == "null") return std::nullopt;
  return literal;
}

}  // namespace reprise::amqp
