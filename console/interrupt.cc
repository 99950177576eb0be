#include "reprise/console/interrupt.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace reprise::console {
namespace {

volatile sig_atomic_t g_interrupted = 0;
int g_pipe[2] = {-1, -1};
int g_depth = 0;
struct sigaction g_previous[8];

void OnInterrupt(int) {
  g_interrupted = 1;
  if (g_pipe[1] >= 0) {
    int saved = errno;
    [[maybe_unused]] ssize_t n = write(g_pipe[1], "x", 1);
    errno = saved;
  }
}

void Drain() {
  if (g_pipe[0] < 0) return;
  char buf[64];
  while (read(g_pipe[0], buf, sizeof buf) > 0) {
  }
}

}  // namespace

InterruptScope::InterruptScope() {
  if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  Drain();
  g_interrupted = 0;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  int slot = g_depth < 8 ? g_depth : 7;
  sigaction(SIGINT, &sa, &g_previous[slot]);
  ++g_depth;
}

InterruptScope::~InterruptScope() {
  --g_depth;
  int slot = g_depth < 8 ? g_depth : 7;
  sigaction(SIGINT, &g_previous[slot], nullptr);
  Drain();
  g_interrupted = 0;
}

bool InterruptScope::interrupted() const { return g_interrupted != 0; }

int InterruptScope::fd() const { return g_pipe[0]; }

bool ReadTerminalLine(const InterruptScope& scope, std::string* line) {
  line->clear();
  while (!scope.interrupted()) {
    pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {scope.fd(), POLLIN, 0}};
    int r = poll(p, scope.fd() >= 0 ? 2 : 1, 200);
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0 || (p[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char c = 0;
    ssize_t n = read(STDIN_FILENO, &c, 1);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    if (c == '\n') return true;
    *line += c;
  }
  return false;
}

}  // namespace reprise::console
