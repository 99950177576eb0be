// Helpers for the console tests that run real processes: a real agent (the
// reprise-test-host binary, seeded with a deterministic journal) and the
// real `reprise` binary.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace reprise::console::testing {

// reprise-test-host serving a fresh journal on a port it picks. Killed on
// destruction.
class TestHost {
 public:
  TestHost() : TestHost(std::vector<std::string>{}) {}
  // With extra reprise-test-host options (--no-seed, --seed-failures N,
  // --fixed, --flows, ...) and optionally a journal of the caller's (so a
  // second host can open what a first one wrote): a SQLite file's path, or a
  // journal URL (postgresql://...).
  explicit TestHost(const std::vector<std::string>& extra, std::string journal = "") {
    if (journal.empty()) journal = dir_.File("test.journal");
    if (journal.rfind("postgresql://", 0) != 0) journal = "sqlite:" + journal;
    std::vector<std::string> argv = {reprise::testing::BinaryPath("reprise-test-host"), "--listen",
                                     "127.0.0.1:0", "--journal", journal};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto started = reprise::testing::Subprocess::Start(argv);
    if (!started) return;
    process_.emplace(std::move(*started));
    auto line = process_->WaitForLine("listening on ", std::chrono::seconds(30));
    if (line) address_ = line->substr(line->find("listening on ") + 13);
  }
  // Empty when the host did not start; tests ASSERT on it.
  const std::string& address() const { return address_; }
  const std::string& dir() const { return dir_.path(); }
  // Stops the host (SIGTERM, a clean stop) and waits for it.
  void Stop() {
    if (process_) process_->Kill(15);
    process_.reset();
  }

 private:
  reprise::testing::TempDir dir_;
  std::optional<reprise::testing::Subprocess> process_;
  std::string address_;
};

// Runs the real `reprise` with `args`, feeding `input` on stdin (a pipe, so
// the console is non-interactive and its output plain).
inline reprise::testing::CommandResult RunReprise(const std::vector<std::string>& args,
                                                  const std::string& input = "",
                                                  const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {reprise::testing::BinaryPath("reprise")};
  argv.insert(argv.end(), args.begin(), args.end());
  return reprise::testing::RunCommand(argv, input, env, std::chrono::seconds(60));
}

inline std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// The cells of a rendered table's last column (headed `header`), a row's
// wrapped lines joined with a space: the table starts at the first line
// holding `header` (after `from`, a byte offset) and a row at a line whose
// first column is not blank; it ends at an empty line, a "-- " line or a
// line of `end_marker`.
inline std::vector<std::string> LastColumnCells(const std::string& text, const std::string& header,
                                                const std::string& end_marker = "\x01") {
  std::vector<std::string> cells;
  size_t at = std::string::npos;
  for (const std::string& line : SplitLines(text)) {
    if (at == std::string::npos) {
      if (line.find(header) != std::string::npos) at = line.find(header);
      continue;
    }
    if (line.empty() || line.rfind("-- ", 0) == 0 || line.rfind(end_marker, 0) == 0) break;
    const std::string part = line.size() > at ? line.substr(at) : "";
    if (line[0] != ' ') {
      cells.push_back(part);
    } else if (!cells.empty()) {
      cells.back() += " " + part;
    }
  }
  return cells;
}

// `text` without blanks: wrapped text compared with what was wrapped.
inline std::string Squeezed(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c != ' ') out += c;
  }
  return out;
}

}  // namespace reprise::console::testing
