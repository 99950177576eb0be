// "Did you mean ...?" suggestions for error messages: one rule for every
// name a person types (filter fields and values, commands, knobs, flows).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"

namespace reprise {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions
// ("ouctome"), which are the most common typo.
REPRISE_EXPORT size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `typed`, ignoring ASCII case, or "" when none is
// close enough to be a typo: one edit for words of up to three characters
// ("ok" must not suggest "in"), two for longer ones, and never as many edits
// as the candidate has characters.
REPRISE_EXPORT std::string ClosestName(std::string_view typed,
                                       const std::vector<std::string_view>& candidates);

// Any range of strings (std::vector<std::string>, std::set, ...).
template <typename Names>
std::string ClosestName(std::string_view typed, const Names& candidates) {
  std::vector<std::string_view> views(std::begin(candidates), std::end(candidates));
  return ClosestName(typed, views);
}

// `; did you mean "NAME"?` for the closest candidate, or "" when none is close.
template <typename Names>
std::string DidYouMean(std::string_view typed, const Names& candidates) {
  std::string best = ClosestName(typed, candidates);
  return best.empty() ? std::string() : "; did you mean \"" + best + "\"?";
}

}  // namespace reprise
