// Tables that fit the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "reprise/console/output.h"

namespace reprise::console {

// A text table with a header row. When the natural width exceeds the space
// available, the widest shrinkable columns lose columns one at a time (their
// cells end in "…") until the table fits or every column is at its minimum;
// `shrink_last` columns give way only after all others are at theirs.
// Cells are sanitized for the terminal when added. Not thread-safe; a value.
class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
    bool shrinkable = true;  // false for ids: a cut id is useless
    size_t min_width = 4;
    // Shrinks only once the other columns are at their minimum (timestamps:
    // better whole, but a cut one still shows the date).
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

  // Column widths that fit `width` (two spaces between columns).
  std::vector<size_t> FitWidths(size_t width) const;
  // The table as lines ending in '\n'; styles are applied only through
  // `output` (so plain output has no escape codes), and the header is bold.
  std::string Render(size_t width, const Output& output) const;
  // Same, without colors.
  std::string Render(size_t width) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace reprise::console
