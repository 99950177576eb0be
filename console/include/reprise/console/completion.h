// Tab completion: command names first, then whatever the command's completer
// offers (filter fields, keywords, channel names, ...). Pure functions over a
// registry and a vocabulary, so they are unit-tested without readline.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/console/command_registry.h"

namespace reprise::console {

// Characters that end the word being completed. Readline is configured with
// the same set so that it replaces exactly the word these functions saw.
// Quotes are not breaks: `"pay` completes to `"payments.received"`.
inline constexpr char kCompletionWordBreaks[] = " \t\n()=<>!~,;";

struct Completion {
  size_t word_start = 0;                // where the completed word begins
  std::vector<std::string> candidates;  // sorted, unique
  bool append_space = true;             // false for "header." and the like
};

// Completes the word that ends `line_before_cursor`.
Completion Complete(const CommandRegistry& registry, const Vocabulary& vocabulary,
                    std::string_view line_before_cursor);

// Candidates at the end of a partial filter (`filter_before_word`): field
// names and `not` where a field is expected, the field's known values after
// an operator or inside `in (...)`, and `and`/`or` plus `extra_after_value`
// (e.g. "limit", "by") after a complete comparison.
std::vector<std::string> CompleteFilter(std::string_view filter_before_word,
                                        const Vocabulary& vocabulary,
                                        const std::vector<std::string>& extra_after_value = {});

// Field names (prefix fields such as "header." included).
std::vector<std::string> FieldNames(const Vocabulary& vocabulary);

}  // namespace reprise::console
