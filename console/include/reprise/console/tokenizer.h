// Splitting console input into commands and words.
//
// A console line is `COMMAND ARGS...`. Most commands pass the rest of the line
// verbatim to the agent (a filter is its own language), so tokens remember
// where they start and end in the line: a command can take "everything from
// token 1 up to (not including) token n-2" as written, quotes and all.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace reprise::console {

// One word of a line. `text` has quotes removed and escapes resolved;
// [begin, end) is the word's span in the original line, quotes included.
struct Token {
  std::string text;
  size_t begin = 0;
  size_t end = 0;
  bool quoted = false;  // any part of the word was quoted
};

// The words of one line. Not thread-safe to mutate; a plain value.
struct TokenizedLine {
  std::string line;  // the original line
  std::vector<Token> tokens;
  std::string error;  // empty when the line tokenized cleanly

  bool ok() const { return error.empty(); }
  // The line as written from the start of token `first` to the end of token
  // `last_exclusive - 1` (empty when the range is empty).
  std::string Span(size_t first, size_t last_exclusive) const;
  // The line as written from token `first` to the end.
  std::string Rest(size_t first) const { return Span(first, tokens.size()); }
};

// Splits `line` into whitespace-separated words. Double quotes allow
// backslash escapes (\" and \\); single quotes are literal. A word can mix
// quoted and unquoted parts (`key="a b"` is one word). An unterminated quote
// is an error that names its column.
TokenizedLine Tokenize(std::string_view line);

// True when `line` ends inside a quote or with a backslash: an interactive
// reader should read another line and join them into one command.
bool NeedsContinuation(std::string_view line);

// Splits a `-c` argument or a script line into commands at `;` outside
// quotes; blank commands are dropped.
std::vector<std::string> SplitCommands(std::string_view text);

// True for a blank line or one whose first non-blank character is `#`.
bool IsBlankOrComment(std::string_view line);

}  // namespace reprise::console
