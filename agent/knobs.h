// The agent's registry of knobs. Internal to agent/.
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>

#include "reprise/agent/knob.h"
#include "reprise/base/duration.h"

namespace reprise {

// Thread-safe.
class KnobRegistry {
 public:
  void Register(KnobInfo info, KnobFn fn);
  std::vector<KnobInfo> List() const;
  // Validates the arguments and runs the knob. A knob that throws fails with
  // the exception's text; one that overruns its deadline returns
  // DEADLINE_EXCEEDED while it finishes in the background.
  StatusOr<std::string> Invoke(std::string_view name,
                               const std::map<std::string, std::string>& raw_args) const;

 private:
  struct Entry {
    KnobInfo info;
    KnobFn fn;
  };
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Entry>, std::less<>> knobs_;  // guarded by mu_
};

}  // namespace reprise
