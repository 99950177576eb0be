#include "json_text.h"

#include <cstdint>

#include "reprise/base/hex.h"

namespace reprise::json {

void AppendQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          AppendHex(out, c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string EncodeStrings(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const std::string& v : values) {
    if (out.size() > 1) out.push_back(',');
    AppendQuoted(out, v);
  }
  out.push_back(']');
  return out;
}

std::string EncodeHeaders(const Headers& headers) {
  if (headers.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : headers) {
    if (!first) out.push_back(',');
    first = false;
    AppendQuoted(out, k);
    out.push_back(':');
    AppendQuoted(out, v);
  }
  out.push_back('}');
  return out;
}

namespace {

void SkipSpace(std::string_view t, size_t& i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) ++i;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::optional<std::string> ParseString(std::string_view t, size_t& i) {
  if (i >= t.size() || t[i] != '"') return std::nullopt;
  ++i;
  std::string out;
  while (i < t.size()) {
    char c = t[i++];
    if (c == '"') return out;
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i >= t.size()) return std::nullopt;
    char e = t[i++];
    switch (e) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        if (i + 4 > t.size()) return std::nullopt;
        uint32_t cp = 0;
        for (int k = 0; k < 4; ++k) {
          char h = t[i++];
          cp <<= 4;
          if (h >= '0' && h <= '9') cp |= h - '0';
          else if (h >= 'a' && h <= 'f') cp |= h - 'a' + 10;
          else if (h >= 'A' && h <= 'F') cp |= h - 'A' + 10;
          else return std::nullopt;
        }
        AppendUtf8(out, cp);
        break;
      }
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Headers> DecodeHeaders(std::string_view t) {
  Headers h;
  size_t i = 0;
  SkipSpace(t, i);
  if (i == t.size()) return h;
  if (t[i++] != '{') return std::nullopt;
  SkipSpace(t, i);
  if (i < t.size() && t[i] == '}') return h;
  while (true) {
    SkipSpace(t, i);
    auto k = ParseString(t, i);
    if (!k) return std::nullopt;
    SkipSpace(t, i);
    if (i >= t.size() || t[i++] != ':') return std::nullopt;
    SkipSpace(t, i);
    auto v = ParseString(t, i);
    if (!v) return std::nullopt;
    h[*k] = *v;
    SkipSpace(t, i);
    if (i >= t.size()) return std::nullopt;
    if (t[i] == ',') {
      ++i;
      continue;
    }
    if (t[i] == '}') return h;
    return std::nullopt;
  }
}

namespace {

// A strict recursive-descent check; `i` advances past what it accepts.
class Validator {
 public:
  Validator(std::string_view t, int max_depth) : t_(t), max_depth_(max_depth) {}

  bool Document() {
    Space();
    if (i_ >= t_.size() || (t_[i_] != '{' && t_[i_] != '[')) return false;
    if (!Value(0)) return false;
    Space();
    return i_ == t_.size();
  }

 private:
  void Space() { SkipSpace(t_, i_); }
  bool Eat(char c) {
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  bool Value(int depth) {
    if (depth > max_depth_) return false;
    Space();
    if (i_ >= t_.size()) return false;
    switch (t_[i_]) {
      case '{': {
        ++i_;
        Space();
        if (Eat('}')) return true;
        do {
          Space();
          if (!String()) return false;
          Space();
          if (!Eat(':') || !Value(depth + 1)) return false;
          Space();
        } while (Eat(','));
        return Eat('}');
      }
      case '[': {
        ++i_;
        Space();
        if (Eat(']')) return true;
        do {
          if (!Value(depth + 1)) return false;
          Space();
        } while (Eat(','));
        return Eat(']');
      }
      case '"': return String();
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number();
    }
  }

  bool Digits() {
    size_t start = i_;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    return i_ > start;
  }

  bool Number() {
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else if (!Digits()) {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
    }
    return true;
  }

  int Hex4() {
    if (i_ + 4 > t_.size()) return -1;
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      char h = t_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= h - '0';
      else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
      else return -1;
    }
    return v;
  }

  // One UTF-8 sequence (shortest form, no surrogates, at most U+10FFFF).
  bool Utf8() {
    auto c = static_cast<unsigned char>(t_[i_]);
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++i_;
      return true;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i_ + n >= t_.size()) return false;
    for (int k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(t_[i_ + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i_ += n + 1;
    return true;
  }

  bool String() {
    if (!Eat('"')) return false;
    while (i_ < t_.size()) {
      char c = t_[i_];
      if (c == '"') {
        ++i_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (!Utf8()) return false;
        continue;
      }
      ++i_;
      if (i_ >= t_.size()) return false;
      char e = t_[i_++];
      if (e == 'u') {
        int cp = Hex4();
        if (cp <= 0) return false;  // invalid, or \u0000 (jsonb refuses it)
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (!Literal("\\u")) return false;
          int low = Hex4();
          if (low < 0xDC00 || low > 0xDFFF) return false;
        }
      } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }

  std::string_view t_;
  size_t i_ = 0;
  int max_depth_;
};

}  // namespace

bool IsJsonDocument(std::string_view text, int max_depth) {
  return Validator(text, max_depth).Document();
}

}  // namespace reprise::json
