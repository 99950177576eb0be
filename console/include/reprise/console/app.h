// The `reprise` program: options, then a one-shot run, a script on standard
// input, or the interactive console.
#pragma once

namespace reprise::console {

// Runs the console; returns the process exit status (0 success, 1 a command
// failed, 2 usage error, 3 agent unreachable). May throw only on internal
// errors (main catches them).
int RunConsole(int argc, char** argv);

}  // namespace reprise::console
