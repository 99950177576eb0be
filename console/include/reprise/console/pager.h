// Paging long listings on a terminal.
#pragma once

#include <cstddef>
#include <ostream>

namespace reprise::console {

// Decides whether a listing stops after each screenful. Implementations are
// not thread-safe; one per console.
class Pager {
 public:
  virtual ~Pager() = default;
  // True when listings should page (a person at a terminal).
  virtual bool interactive() const = 0;
  // Rows of data per page.
  virtual size_t page_rows() const = 0;
  // After a page of `shown` rows in total: show the next page?
  virtual bool Continue(size_t shown) = 0;
};

// Never pages (scripts, pipes, --json).
class NoPager : public Pager {
 public:
  bool interactive() const override { return false; }
  size_t page_rows() const override { return 50; }
  bool Continue(size_t) override { return false; }
};

// Asks "-- more (N shown; Enter for next page, q to stop) --" on the
// terminal and reads one key without echo: Enter or space continue; q, Esc
// and Ctrl-C stop.
class TerminalPager : public Pager {
 public:
  TerminalPager(std::ostream& out, size_t terminal_rows) : out_(out), rows_(terminal_rows) {}
  bool interactive() const override { return true; }
  size_t page_rows() const override;
  bool Continue(size_t shown) override;

 private:
  std::ostream& out_;
  size_t rows_;
};

}  // namespace reprise::console
