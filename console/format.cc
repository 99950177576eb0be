#include "reprise/console/format.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

#include "reprise/base/hex.h"

namespace reprise::console {
namespace {

// Decodes one UTF-8 code point at `i`; returns its length, or 0 when the
// bytes there are not valid UTF-8 (overlongs, surrogates and > U+10FFFF
// included).
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, min = 0x80, *cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, min = 0x800, *cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, *cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    *cp = (*cp << 6) | (b(i + k) & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
  return len;
}

bool IsC1OrDel(uint32_t cp) { return cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

size_t CodePointWidth(uint32_t cp) {
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0xFE0F) {
    return 0;  // combining marks, zero-width spaces, variation selector
  }
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

// Validating JSON re-indenter. Recursion depth is bounded so that a hostile
// payload of nested brackets cannot exhaust the stack.
class JsonPrinter {
 public:
  explicit JsonPrinter(std::string_view in) : in_(in) {}

  std::optional<std::string> Run() {
    SkipSpace();
    if (!Value(0)) return std::nullopt;
    SkipSpace();
    if (pos_ != in_.size()) return std::nullopt;
    return std::move(out_);
  }

 private:
  static constexpr int kMaxDepth = 256;

  void SkipSpace() {
    while (pos_ < in_.size() &&
           (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void Newline(int depth) {
    out_ += '\n';
    out_.append(static_cast<size_t>(depth) * 2, ' ');
  }
  bool Literal(std::string_view word) {
    if (in_.substr(pos_, word.size()) != word) return false;
    out_ += word;
    pos_ += word.size();
    return true;
  }
  bool Value(int depth) {
    if (depth > kMaxDepth || pos_ >= in_.size()) return false;
    char c = in_[pos_];
    if (c == '{') return Container(depth, '}', true);
    if (c == '[') return Container(depth, ']', false);
    if (c == '"') return String();
    if (c == 't') return Literal("true");
    if (c == 'f') return Literal("false");
    if (c == 'n') return Literal("null");
    return Number();
  }
  bool Container(int depth, char close, bool object) {
    out_ += in_[pos_++];
    SkipSpace();
    if (pos_ < in_.size() && in_[pos_] == close) {
      out_ += close;
      ++pos_;
      return true;
    }
    while (true) {
      Newline(depth + 1);
      SkipSpace();
      if (object) {
        if (pos_ >= in_.size() || in_[pos_] != '"' || !String()) return false;
        SkipSpace();
        if (pos_ >= in_.size() || in_[pos_] != ':') return false;
        ++pos_;
        out_ += ": ";
        SkipSpace();
      }
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (pos_ >= in_.size()) return false;
      if (in_[pos_] == ',') {
        out_ += ',';
        ++pos_;
        SkipSpace();
        continue;
      }
      if (in_[pos_] != close) return false;
      ++pos_;
      Newline(depth);
      out_ += close;
      return true;
    }
  }
  bool String() {
    out_ += '"';
    ++pos_;
    while (pos_ < in_.size()) {
      unsigned char c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        out_ += '"';
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (pos_ + 1 >= in_.size()) return false;
        char e = in_[pos_ + 1];
        if (e == 'u') {
          if (pos_ + 6 > in_.size()) return false;
          for (size_t k = pos_ + 2; k < pos_ + 6; ++k) {
            if (!std::isxdigit(static_cast<unsigned char>(in_[k]))) return false;
          }
          out_.append(in_.substr(pos_, 6));
          pos_ += 6;
          continue;
        }
        if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) return false;
        out_.append(in_.substr(pos_, 2));
        pos_ += 2;
        continue;
      }
      uint32_t cp = 0;
      size_t len = DecodeUtf8(in_, pos_, &cp);
      if (len == 0) return false;
      if (IsC1OrDel(cp)) {
        out_ += "\\u00";
        AppendHex(out_, static_cast<unsigned char>(cp));
      } else {
        out_.append(in_.substr(pos_, len));
      }
      pos_ += len;
    }
    return false;
  }
  bool Digits() {
    size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] >= '0' && in_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }
  bool Number() {
    size_t start = pos_;
    if (pos_ < in_.size() && in_[pos_] == '-') ++pos_;
    if (pos_ >= in_.size()) return false;
    if (in_[pos_] == '0') {
      ++pos_;
    } else if (!(in_[pos_] >= '1' && in_[pos_] <= '9') || !Digits()) {
      return false;
    }
    if (pos_ < in_.size() && in_[pos_] == '.') {
      ++pos_;
      if (!Digits()) return false;
    }
    if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (!Digits()) return false;
    }
    out_.append(in_.substr(start, pos_ - start));
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string out_;
};

}  // namespace

std::optional<std::string> PrettyJson(std::string_view text) { return JsonPrinter(text).Run(); }

std::string HexDump(std::string_view bytes, size_t max_bytes) {
  std::string out;
  size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (size_t line = 0; line < n; line += 16) {
    char offset[24];
    std::snprintf(offset, sizeof offset, "%08zx", line);
    out += offset;
    out += "  ";
    std::string ascii;
    for (size_t k = 0; k < 16; ++k) {
      if (k == 8) out += ' ';
      if (line + k < n) {
        unsigned char c = static_cast<unsigned char>(bytes[line + k]);
        AppendHex(out, c);
        out += ' ';
        ascii += (c >= 0x20 && c < 0x7F) ? static_cast<char>(c) : '.';
      } else {
        out += "   ";
      }
    }
    out += " |" + ascii + "|\n";
  }
  if (bytes.size() > n) {
    out += "... " + std::to_string(bytes.size() - n) + " more bytes not shown\n";
  }
  return out;
}

bool IsPrintableText(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(bytes, i, &cp);
    if (len == 0) return false;
    if ((cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') || IsC1OrDel(cp)) return false;
    i += len;
  }
  return true;
}

size_t FirstInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string FormatTimestamp(int64_t seconds, int32_t nanos) {
  if (seconds == 0 && nanos == 0) return "";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos / 1000000);
  return buf;
}

std::string FormatDuration(uint64_t seconds) {
  const uint64_t units[] = {86400, 3600, 60, 1};
  const char* names[] = {"d", "h", "m", "s"};
  std::string out;
  for (int i = 0; i < 4; ++i) {
    uint64_t v = seconds / units[i];
    seconds %= units[i];
    if (v == 0 && out.empty() && i < 3) continue;
    if (v == 0 && !out.empty()) continue;
    if (!out.empty()) out += ' ';
    out += std::to_string(v) + names[i];
  }
  return out;
}

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          AppendHex(out, c);
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string SanitizeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(text, i, &cp);
    auto escape = [&](unsigned char c) {
      out += "\\x";
      AppendHex(out, c);
    };
    if (len == 0) {
      escape(static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || IsC1OrDel(cp)) {
      for (size_t k = 0; k < len; ++k) escape(static_cast<unsigned char>(text[i + k]));
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(text, i, &cp);
    if (len == 0) {
      ++width;
      ++i;
      continue;
    }
    width += CodePointWidth(cp);
    i += len;
  }
  return width;
}

std::string TruncateToWidth(std::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return "";
  std::string out;
  size_t used = 0;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = 0;
    size_t len = DecodeUtf8(text, i, &cp);
    size_t w = len == 0 ? 1 : CodePointWidth(cp);
    if (len == 0) len = 1;
    if (used + w > width - 1) break;
    out.append(text.substr(i, len));
    used += w;
    i += len;
  }
  return out + "\xE2\x80\xA6";  // …
}

std::vector<std::string> WrapToWidth(std::string_view text, size_t width) {
  width = std::max<size_t>(width, 1);
  std::vector<std::string> lines(1);
  size_t used = 0;  // columns on lines.back()
  for (size_t i = 0; i < text.size();) {
    const size_t word_start = text.find_first_not_of(' ', i);
    if (word_start == std::string_view::npos) break;  // trailing blanks
    const size_t gap = word_start - i;
    size_t word_end = text.find(' ', word_start);
    if (word_end == std::string_view::npos) word_end = text.size();
    const std::string_view word = text.substr(word_start, word_end - word_start);
    const size_t w = DisplayWidth(word);
    i = word_end;
    if (used > 0 && used + gap + w <= width) {
      lines.back().append(gap, ' ');
      lines.back().append(word);
      used += gap + w;
      continue;
    }
    if (used > 0) {
      lines.emplace_back();
      used = 0;
    } else if (lines.size() == 1) {
      // Leading blanks of the text are kept (indentation); a break drops them.
      used = std::min(gap, width - 1);
      lines.back().append(used, ' ');
    }
    if (used + w <= width) {
      lines.back().append(word);
      used += w;
      continue;
    }
    // Longer than a line: broken between code points.
    for (size_t k = 0; k < word.size();) {
      uint32_t cp = 0;
      size_t len = DecodeUtf8(word, k, &cp);
      const size_t cw = len == 0 ? 1 : CodePointWidth(cp);
      if (len == 0) len = 1;
      if (used > 0 && used + cw > width) {
        lines.emplace_back();
        used = 0;
      }
      lines.back().append(word.substr(k, len));
      used += cw;
      k += len;
    }
  }
  return lines;
}

std::string WrapText(std::string_view text, size_t width) {
  std::string out;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (DisplayWidth(line) <= width) {
      out.append(line);
    } else {
      const size_t indent = std::min(line.find_first_not_of(' '), width / 2);
      const std::string margin(indent, ' ');
      for (const std::string& part : WrapToWidth(line.substr(indent), width - indent)) {
        out += (out.empty() || out.back() == '\n' ? "" : "\n") + margin + part;
      }
    }
    if (end < text.size()) out += '\n';
  }
  return out;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace reprise::console
