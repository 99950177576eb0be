// reprise: the operator console. See docs/console.md.
#include <cstdio>
#include <exception>

#include "reprise/console/app.h"

int main(int argc, char** argv) {
  // Nothing may escape main: an internal error is reported, not a crash.
  try {
    return reprise::console::RunConsole(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reprise: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "reprise: internal error\n");
  }
  return 1;
}
