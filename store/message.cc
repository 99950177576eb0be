#include "reprise/store/message.h"

namespace reprise {

std::string_view DirectionName(Direction d) { return d == Direction::kOut ? "out" : "in"; }

std::string_view OutcomeName(Outcome o) {
  const auto i = static_cast<size_t>(o) - 1;
  return i < std::size(kOutcomeNames) ? kOutcomeNames[i] : kOutcomeNames[0];
}

std::optional<Direction> ParseDirection(std::string_view s) {
  if (s == "in") return Direction::kIn;
  if (s == "out") return Direction::kOut;
  return std::nullopt;
}

std::optional<Outcome> ParseOutcome(std::string_view s) {
  for (size_t i = 0; i < std::size(kOutcomeNames); ++i) {
    if (s == kOutcomeNames[i]) return static_cast<Outcome>(i + 1);
  }
  return std::nullopt;
}

}  // namespace reprise
