#include "reprise/console/tokenizer.h"

#include <cctype>

namespace reprise::console {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Scans quotes the same way Tokenize does; returns the open quote character
// at the end of `text` (0 when none). Shared so that continuation and command
// splitting agree with tokenizing about what is quoted.
template <typename OnChar>
char ScanQuotes(std::string_view text, OnChar on_unquoted) {
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote == '"') {
      if (c == '\\' && i + 1 < text.size()) {
        ++i;
      } else if (c == '"') {
        quote = 0;
      }
    } else if (quote == '\'') {
      if (c == '\'') quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else {
      on_unquoted(i, c);
    }
  }
  return quote;
}

}  // namespace

std::string TokenizedLine::Span(size_t first, size_t last_exclusive) const {
  if (first >= last_exclusive || first >= tokens.size()) return "";
  if (last_exclusive > tokens.size()) last_exclusive = tokens.size();
  size_t begin = tokens[first].begin;
  size_t end = tokens[last_exclusive - 1].end;
  return line.substr(begin, end - begin);
}

TokenizedLine Tokenize(std::string_view line) {
  TokenizedLine result;
  result.line = std::string(line);
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) break;
    Token token;
    token.begin = i;
    while (i < line.size() && !IsSpace(line[i])) {
      char c = line[i];
      if (c == '"' || c == '\'') {
        token.quoted = true;
        size_t open = i++;
        bool closed = false;
        while (i < line.size()) {
          char q = line[i];
          if (q == c) {
            closed = true;
            ++i;
            break;
          }
          if (c == '"' && q == '\\' && i + 1 < line.size()) {
            token.text += line[i + 1];
            i += 2;
            continue;
          }
          token.text += q;
          ++i;
        }
        if (!closed) {
          result.error = "unterminated quote " + std::string(1, c) + " at column " +
                         std::to_string(open + 1);
          token.end = line.size();
          result.tokens.push_back(std::move(token));
          return result;
        }
      } else {
        token.text += c;
        ++i;
      }
    }
    token.end = i;
    result.tokens.push_back(std::move(token));
  }
  return result;
}

bool NeedsContinuation(std::string_view line) {
  if (ScanQuotes(line, [](size_t, char) {}) != 0) return true;
  size_t end = line.size();
  while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == '\n')) --end;
  return end > 0 && line[end - 1] == '\\';
}

std::vector<std::string> SplitCommands(std::string_view text) {
  std::vector<size_t> cuts;
  ScanQuotes(text, [&](size_t i, char c) {
    if (c == ';') cuts.push_back(i);
  });
  cuts.push_back(text.size());
  std::vector<std::string> commands;
  size_t start = 0;
  for (size_t cut : cuts) {
    std::string_view piece = text.substr(start, cut - start);
    size_t b = 0, e = piece.size();
    while (b < e && IsSpace(piece[b])) ++b;
    while (e > b && IsSpace(piece[e - 1])) --e;
    if (e > b) commands.emplace_back(piece.substr(b, e - b));
    start = cut + 1;
  }
  return commands;
}

bool IsBlankOrComment(std::string_view line) {
  for (char c : line) {
    if (IsSpace(c)) continue;
    return c == '#';
  }
  return true;
}

}  // namespace reprise::console
