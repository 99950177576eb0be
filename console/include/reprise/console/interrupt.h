// Ctrl-C while a command runs: long commands (watching a job, waiting for
// a confirmation) catch SIGINT for their duration so that it stops what they
// wait for instead of ending the console.
#pragma once

#include <string>

namespace reprise::console {

// Installs a SIGINT handler for its lifetime and restores the previous one
// on destruction. Scopes may nest (the innermost wins). The handler only
// sets a flag and writes to a self-pipe, so a wait can poll fd() next to
// what it waits for (the signal may arrive on any thread). Use from the
// console's one thread.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

  // True once Ctrl-C was pressed inside this scope.
  bool interrupted() const;
  // Readable after an interrupt (-1 when the pipe could not be made).
  int fd() const;
};

// Reads one line from standard input (a terminal), without its newline.
// False at end of input or when Ctrl-C is pressed (an InterruptScope must be
// active).
bool ReadTerminalLine(const InterruptScope& scope, std::string* line);

}  // namespace reprise::console
