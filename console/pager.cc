#include "reprise/console/pager.h"

#include <termios.h>
#include <unistd.h>

#include "reprise/console/terminal.h"

namespace reprise::console {

size_t TerminalPager::page_rows() const {
  size_t rows = DetectTerminal().height;
  if (rows == 0) rows = rows_;
  // Leave room for the header and the "-- more --" line.
  return rows > 8 ? rows - 3 : 5;
}

bool TerminalPager::Continue(size_t shown) {
  out_ << "-- more (" << shown << " shown; Enter for next page, q to stop) --" << std::flush;
  termios saved{};
  bool raw = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    termios t = saved;
    // Without ISIG, Ctrl-C arrives as a key (3) and simply stops the listing.
    t.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  bool more = false;
  while (true) {
    char c = 0;
    if (read(STDIN_FILENO, &c, 1) != 1) break;  // EOF or error: stop
    if (c == '\n' || c == '\r' || c == ' ') {
      more = true;
      break;
    }
    if (c == 'q' || c == 'Q' || c == 27 /* Esc */ || c == 3 /* Ctrl-C */ || c == 4) break;
  }
  if (raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  out_ << "\r\033[K" << std::flush;  // erase the prompt line
  return more;
}

}  // namespace reprise::console
