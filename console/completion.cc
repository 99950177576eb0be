#include "reprise/console/completion.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace reprise::console {
namespace {

bool IsBreak(char c) { return std::strchr(kCompletionWordBreaks, c) != nullptr && c != '\0'; }

// Index just after the last unquoted `;`: completion looks at the last
// command of a line such as `status; find outcome = f`.
size_t LastCommandStart(std::string_view line) {
  size_t start = 0;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ';') {
      start = i + 1;
    }
  }
  return start;
}

// A lexical token of the filter language, as far as completion cares.
struct FilterToken {
  enum Kind { kWord, kString, kOperator, kOpen, kClose, kComma } kind;
  std::string text;
};

std::vector<FilterToken> LexFilter(std::string_view s) {
  std::vector<FilterToken> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '"' || c == '\'') {
      size_t j = i + 1;
      std::string text;
      while (j < s.size() && s[j] != c) {
        if (c == '"' && s[j] == '\\' && j + 1 < s.size()) ++j;
        text += s[j++];
      }
      out.push_back({FilterToken::kString, text});
      i = j + 1;
    } else if (std::strchr("=!<>~", c) != nullptr) {
      size_t j = i;
      while (j < s.size() && std::strchr("=!<>~", s[j]) != nullptr) ++j;
      out.push_back({FilterToken::kOperator, std::string(s.substr(i, j - i))});
      i = j;
    } else if (c == '(') {
      out.push_back({FilterToken::kOpen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({FilterToken::kClose, ")"});
      ++i;
    } else if (c == ',') {
      out.push_back({FilterToken::kComma, ","});
      ++i;
    } else {
      size_t j = i;
      while (j < s.size() && !IsBreak(s[j]) && s[j] != '"' && s[j] != '\'') ++j;
      out.push_back({FilterToken::kWord, std::string(s.substr(i, j - i))});
      i = j;
    }
  }
  return out;
}

bool IsWord(const FilterToken& t, std::string_view w) {
  if (t.kind != FilterToken::kWord || t.text.size() != w.size()) return false;
  for (size_t i = 0; i < w.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(t.text[i])) != w[i]) return false;
  }
  return true;
}

bool HasKeyword(const Vocabulary& v, std::string_view k) {
  // Older agents may not list keywords; the connectives are part of the
  // language itself, so offer them anyway.
  return v.keywords.empty() ||
         std::find(v.keywords.begin(), v.keywords.end(), k) != v.keywords.end();
}

std::vector<std::string> ValuesOf(const Vocabulary& v, const std::string& field) {
  auto it = v.values.find(field);
  return it == v.values.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace

std::vector<std::string> FieldNames(const Vocabulary& vocabulary) {
  std::vector<std::string> names;
  for (const auto& f : vocabulary.fields) names.push_back(f.name);
  return names;
}

std::vector<std::string> CompleteFilter(std::string_view filter_before_word,
                                        const Vocabulary& vocabulary,
                                        const std::vector<std::string>& extra_after_value) {
  // Walk the tokens with the grammar's states; what may come next decides
  // what to offer.
  enum State { kField, kOperator, kValue, kInOpen, kListValue, kListNext, kAfterValue, kLost };
  State state = kField;
  std::string field;
  for (const auto& t : LexFilter(filter_before_word)) {
    switch (state) {
      case kField:
        if (t.kind == FilterToken::kOpen || IsWord(t, "not")) break;
        if (t.kind == FilterToken::kWord) {
          field = t.text;
          state = kOperator;
        } else {
          state = kLost;
        }
        break;
      case kOperator:
        if (IsWord(t, "in")) {
          state = kInOpen;
        } else if (t.kind == FilterToken::kOperator) {
          state = kValue;
        } else {
          state = kLost;
        }
        break;
      case kValue:
        state = (t.kind == FilterToken::kWord || t.kind == FilterToken::kString) ? kAfterValue
                                                                                : kLost;
        break;
      case kInOpen: state = t.kind == FilterToken::kOpen ? kListValue : kLost; break;
      case kListValue:
        state = (t.kind == FilterToken::kWord || t.kind == FilterToken::kString) ? kListNext
                                                                                : kLost;
        break;
      case kListNext:
        if (t.kind == FilterToken::kComma) {
          state = kListValue;
        } else if (t.kind == FilterToken::kClose) {
          state = kAfterValue;
        } else {
          state = kLost;
        }
        break;
      case kAfterValue:
        if (t.kind == FilterToken::kClose) break;
        state = (IsWord(t, "and") || IsWord(t, "or")) ? kField : kLost;
        break;
      case kLost: break;
    }
  }
  std::vector<std::string> out;
  switch (state) {
    case kField:
      out = FieldNames(vocabulary);
      if (HasKeyword(vocabulary, "not")) out.push_back("not");
      break;
    case kValue:
    case kListValue: out = ValuesOf(vocabulary, field); break;
    case kAfterValue:
      for (const char* k : {"and", "or"}) {
        if (HasKeyword(vocabulary, k)) out.push_back(k);
      }
      out.insert(out.end(), extra_after_value.begin(), extra_after_value.end());
      break;
    default: break;
  }
  return out;
}

Completion Complete(const CommandRegistry& registry, const Vocabulary& vocabulary,
                    std::string_view line_before_cursor) {
  Completion result;
  size_t word_start = line_before_cursor.size();
  while (word_start > 0 && !IsBreak(line_before_cursor[word_start - 1])) --word_start;
  result.word_start = word_start;
  std::string_view word = line_before_cursor.substr(word_start);

  size_t command_start = LastCommandStart(line_before_cursor.substr(0, word_start));
  std::string_view before = line_before_cursor.substr(command_start, word_start - command_start);
  TokenizedLine head = Tokenize(before);

  std::vector<std::string> all;
  if (head.tokens.empty()) {
    all = registry.Names();
  } else {
    const Command* command = registry.Find(head.tokens[0].text);
    if (command == nullptr || !command->completer) return result;
    std::string_view args = before.substr(head.tokens[0].end);
    all = command->completer(CompletionRequest{args, word, vocabulary});
  }
  for (auto& c : all) {
    // A quoted candidate also matches an unquoted start: `pay` offers
    // `"payments.received"`.
    bool match = c.compare(0, word.size(), word) == 0 ||
                 (!word.empty() && word[0] != '"' && c.size() > word.size() && c[0] == '"' &&
                  c.compare(1, word.size(), word) == 0);
    if (match) result.candidates.push_back(std::move(c));
  }
  std::sort(result.candidates.begin(), result.candidates.end());
  result.candidates.erase(std::unique(result.candidates.begin(), result.candidates.end()),
                          result.candidates.end());
  if (result.candidates.size() == 1 && !result.candidates[0].empty() &&
      (result.candidates[0].back() == '.' || result.candidates[0].back() == '=')) {
    result.append_space = false;
  }
  return result;
}

}  // namespace reprise::console
