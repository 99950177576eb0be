#include "json_text.h"

#include <cstdint>

namespace reprise::json {

void AppendQuoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
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
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
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

}  // namespace reprise::json
