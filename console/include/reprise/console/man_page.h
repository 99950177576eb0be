// The console's man page, reprise(1), in roff: `reprise --help` (UsageText)
// and, for each command of the registry, what `help COMMAND` prints. The
// build writes it with the hidden `reprise --man` (console/CMakeLists.txt),
// so the installed page cannot drift from `help`.
#pragma once

#include <string>

#include "reprise/console/command_registry.h"

namespace reprise::console {

std::string ManPage(const CommandRegistry& registry);

}  // namespace reprise::console
