// Private to the filter implementation: the tokens of the filter language.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/status.h"
#include "reprise/store/filter.h"

namespace reprise::filter::internal {

enum class TokenKind {
  kEnd,  // after the last token; column is one past the end
  kLParen,
  kRParen,
  kComma,
  kOp,      // = != < <= > >= ~
  kString,  // quoted; text is unescaped
  kWord,    // bare word: field names, keywords, unquoted values
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;  // word, unescaped string, or the operator as written
  Op op = Op::kEq;   // for kOp
  int column = 0;    // 1-based, counted in characters (UTF-8 code points)
};

// Splits `text` into tokens, ending with one kEnd token. Checks the length
// limit and reports bad quoting and unknown operators.
StatusOr<std::vector<Token>> Lex(std::string_view text);

// True for characters that end a bare word.
bool IsDelimiter(char c);
// A bare word that reads as a number (-12, 3.5, 1e6) or a relative time (-2h).
Value::Kind ClassifyWord(std::string_view word);
// True when `word` would lex back as one bare word (so ToString may leave it
// unquoted).
bool IsBareWord(std::string_view word);

}  // namespace reprise::filter::internal
