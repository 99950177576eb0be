// Running the host's code (handlers, senders, derivers, knobs): nothing it
// throws may take the host process down. Internal to agent/ (and reprise_replay).
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "reprise/base/status.h"

namespace reprise {

// Runs `fn` (`what` names it: "handler for payments.received") and returns
// its Status, or UNKNOWN "WHAT threw: ..." when it throws. One wording for
// every kind of host code, and for a replay in a unit test (replay.h), whose
// errors must read as the agent records them.
template <typename Fn>
Status Contain(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Unknown(std::string(what) + " threw: " + e.what());
  } catch (...) {
    return Unknown(std::string(what) + " threw a non-standard exception");
  }
}

}  // namespace reprise
