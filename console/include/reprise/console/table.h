// Tables that fit the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "reprise/console/output.h"

namespace reprise::console {

// A text table with a header row, laid out to a width: when the natural
// width exceeds it, the widest shrinkable columns lose a column at a time
// (down to their `min_width`; `shrink_last` ones only after all others are
// at theirs), then, as a last resort, any column down to one; a cell wider
// than its column wraps under it (at spaces, a longer word inside it), so
// no text is cut and no line is longer than the width unless the width is
// below one column per column plus the gaps. Every table of the console is
// laid out by this one. Cells are sanitized for the terminal when added.
// Not thread-safe; a value.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
    bool shrinkable = true;  // false for ids: one broken over lines is hard to copy
    size_t min_width = 4;
    // Shrinks only once the other columns are at their minimum (timestamps:
    // better on one line, but wrapped at the space they still read well).
    bool shrink_last = false;
  };
  struct Cell {
    std::string text;
    Style style = Style::kNone;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Adds a row; missing cells are empty, extra cells are ignored.
  void AddRow(std::vector<Cell> cells);
  size_t rows() const { return rows_.size(); }

  // Column widths that fit `width` (two spaces between columns), each at
  // least 1.
  std::vector<size_t> FitWidths(size_t width) const;
  // The table as lines ending in '\n' (a row takes as many as its tallest
  // wrapped cell); styles are applied only through `output` (so plain
  // output has no escape codes), and the header is bold (no header row when
  // every header is empty). `indent` blanks
  // start every line, within `width`.
  std::string Render(size_t width, const Output& output, size_t indent = 0) const;
  // Same, without colors.
  std::string Render(size_t width, size_t indent = 0) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace reprise::console
