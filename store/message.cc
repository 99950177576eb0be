#include "reprise/store/message.h"

namespace reprise {

std::string_view DirectionName(Direction d) { return d == Direction::kOut ? "out" : "in"; }

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPending: return "pending";
    case Outcome::kOk: return "ok";
    case Outcome::kFailed: return "failed";
    case Outcome::kSkipped: return "skipped";
  }
  return "pending";
}

std::optional<Direction> ParseDirection(std::string_view s) {
  if (s == "in") return Direction::kIn;
  if (s == "out") return Direction::kOut;
  return std::nullopt;
}

std::optional<Outcome> ParseOutcome(std::string_view s) {
  if (s == "pending") return Outcome::kPending;
  if (s == "ok") return Outcome::kOk;
  if (s == "failed") return Outcome::kFailed;
  if (s == "skipped") return Outcome::kSkipped;
  return std::nullopt;
}

}  // namespace reprise
