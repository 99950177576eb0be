// Edit distance for "did you mean ...?" suggestions in error messages.
#pragma once

#include <cstddef>
#include <string_view>

namespace reprise {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions
// ("ouctome"), which are the most common typo.
size_t EditDistance(std::string_view a, std::string_view b);

}  // namespace reprise
