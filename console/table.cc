#include "reprise/console/table.h"

#include <sstream>

#include "reprise/console/format.h"

namespace reprise::console {
namespace {
constexpr size_t kGap = 2;
}

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(columns_.size());
  for (auto& cell : cells) cell.text = SanitizeForTerminal(cell.text);
  rows_.push_back(std::move(cells));
}

std::vector<size_t> Table::FitWidths(size_t width) const {
  std::vector<size_t> widths(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = DisplayWidth(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], DisplayWidth(row[c].text));
  }
  size_t total = columns_.empty() ? 0 : kGap * (columns_.size() - 1);
  for (size_t w : widths) total += w;
  // Take one column at a time from the widest shrinkable column: the
  // narrow, informative ones (direction, outcome) keep their full text.
  for (bool last_phase : {false, true}) {
    while (total > width) {
      size_t best = columns_.size();
      for (size_t c = 0; c < columns_.size(); ++c) {
        const Column& col = columns_[c];
        if (!col.shrinkable || col.shrink_last != last_phase || widths[c] <= col.min_width) {
          continue;
        }
        if (best == columns_.size() || widths[c] > widths[best]) best = c;
      }
      if (best == columns_.size()) break;  // cannot fit: let the terminal wrap
      --widths[best];
      --total;
    }
  }
  return widths;
}

std::string Table::Render(size_t width, const Output& output) const {
  std::vector<size_t> widths = FitWidths(width);
  std::ostringstream out;
  auto emit = [&](size_t c, const std::string& text, Style style) {
    std::string cut = TruncateToWidth(text, widths[c]);
    size_t pad = widths[c] - std::min(widths[c], DisplayWidth(cut));
    bool last = c + 1 == columns_.size();
    if (columns_[c].align == Align::kRight) out << std::string(pad, ' ');
    out << output.Paint(cut, style);
    if (columns_[c].align == Align::kLeft && !last) out << std::string(pad, ' ');
    if (!last) out << std::string(kGap, ' ');
  };
  auto end_line = [&](std::string line) {
    // Empty trailing cells leave blanks behind: trim them.
    size_t e = line.find_last_not_of(' ');
    line.erase(e == std::string::npos ? 0 : e + 1);
    return line + "\n";
  };
  std::string result;
  for (size_t c = 0; c < columns_.size(); ++c) emit(c, columns_[c].header, Style::kBold);
  result += end_line(out.str());
  for (const auto& row : rows_) {
    out.str("");
    for (size_t c = 0; c < columns_.size(); ++c) emit(c, row[c].text, row[c].style);
    result += end_line(out.str());
  }
  return result;
}

std::string Table::Render(size_t width) const {
  std::ostringstream sink;
  Output plain(sink, sink, OutputOptions{});
  return Render(width, plain);
}

}  // namespace reprise::console
