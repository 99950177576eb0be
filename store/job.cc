#include "reprise/store/job.h"

namespace reprise {

std::string_view ReflowTargetName(ReflowTarget t) {
  return t == ReflowTarget::kDownstream ? "downstream" : "self";
}

std::optional<ReflowTarget> ParseReflowTarget(std::string_view s) {
  if (s == "self") return ReflowTarget::kSelf;
  if (s == "downstream") return ReflowTarget::kDownstream;
  return std::nullopt;
}

std::string_view JobStateName(JobState s) {
  switch (s) {
    case JobState::kRunning: return "running";
    case JobState::kCancelling: return "cancelling";
    case JobState::kCancelled: return "cancelled";
    case JobState::kCompleted: return "completed";
    case JobState::kStopped: return "stopped";
  }
  return "running";
}

}  // namespace reprise
