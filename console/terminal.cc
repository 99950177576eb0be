#include "reprise/console/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace reprise::console {
namespace {

size_t EnvSize(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || n < 10 || n > 10000) return fallback;
  return static_cast<size_t>(n);
}

}  // namespace

TerminalInfo DetectTerminal() {
  TerminalInfo info;
  info.stdin_tty = isatty(STDIN_FILENO) == 1;
  info.stdout_tty = isatty(STDOUT_FILENO) == 1;
  info.width = EnvSize("COLUMNS", 100);
  info.height = EnvSize("LINES", 24);
  if (info.stdout_tty) {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      info.width = ws.ws_col;
      if (ws.ws_row > 0) info.height = ws.ws_row;
    }
  }
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  info.color = info.stdout_tty && (no_color == nullptr || *no_color == '\0') &&
               !(term != nullptr && std::strcmp(term, "dumb") == 0);
  return info;
}

size_t CurrentTerminalWidth() { return DetectTerminal().width; }

}  // namespace reprise::console
