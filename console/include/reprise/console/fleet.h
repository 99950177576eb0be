// Fleet mode (`reprise --fleet JOURNAL_URL`): the console finds the live
// instances of a service in the journal's registry. Queries (find, show,
// count, trace, jobs, audit, flows, ...) go to one live instance, since they
// all share the journal; per-instance commands (status, knob) are fanned out
// to every live instance, or to the one named by --instance.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "reprise/fleet/registry.h"

namespace reprise::console {

struct FleetMode {
  std::string journal;   // the journal URL
  std::string service;   // --service ("" = every service)
  std::string instance;  // --instance ("" = every live instance)

  // The live instances per-instance commands go to.
  fleet::ReadResult Targets() const;
};

}  // namespace reprise::console
