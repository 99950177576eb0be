#include "reprise/base/did_you_mean.h"

#include <algorithm>

namespace reprise {
namespace {

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string ClosestName(std::string_view typed, const std::vector<std::string_view>& candidates) {
  std::string lower = AsciiLower(typed);
  size_t limit = lower.size() <= 3 ? 1 : 2;
  size_t best = limit + 1;
  std::string_view choice;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(lower, AsciiLower(c));
    if (d < best && d < c.size()) {
      best = d;
      choice = c;
    }
  }
  return std::string(choice);
}

}  // namespace reprise
