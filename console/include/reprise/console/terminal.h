// What the console knows about where it runs: terminals, sizes, colors.
#pragma once

#include <cstddef>

namespace reprise::console {

// A snapshot of the process's terminal situation. A plain value.
struct TerminalInfo {
  bool stdin_tty = false;
  bool stdout_tty = false;
  size_t width = 100;   // columns available for tables
  size_t height = 24;   // rows, for page sizes
  bool color = false;   // ANSI colors allowed
};

// Reads the terminal size with TIOCGWINSZ when stdout is a terminal, else
// $COLUMNS/$LINES, else 100x24. Colors: stdout is a terminal, NO_COLOR is
// unset or empty, and TERM is not "dumb".
TerminalInfo DetectTerminal();

// The current width only (terminals get resized between commands).
size_t CurrentTerminalWidth();

}  // namespace reprise::console
