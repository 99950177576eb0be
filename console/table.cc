#include "reprise/console/table.h"

#include <algorithm>
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
  // Natural widths, and each column's longest word (what it takes to wrap
  // without breaking a word).
  std::vector<size_t> widths(columns_.size(), 1), words(columns_.size(), 1);
  auto measure = [&](size_t c, const std::string& text) {
    widths[c] = std::max(widths[c], DisplayWidth(text));
    for (size_t at = 0; at < text.size();) {
      size_t end = text.find(' ', at);
      if (end == std::string::npos) end = text.size();
      words[c] = std::max(words[c], DisplayWidth(std::string_view(text).substr(at, end - at)));
      at = end + 1;
    }
  };
  for (size_t c = 0; c < columns_.size(); ++c) {
    measure(c, columns_[c].header);
    for (const auto& row : rows_) measure(c, row[c].text);
  }
  size_t total = columns_.empty() ? 0 : kGap * (columns_.size() - 1);
  for (size_t w : widths) total += w;
  // Take one column at a time from the widest that may give, in phases:
  // shrinkable columns down to their longest word (the `shrink_last` ones
  // after the others), then down to their minimum (breaking words), and as
  // a last resort any column down to one. The narrow, informative columns
  // (direction, outcome) keep their width longest.
  struct Phase {
    bool any;          // every column, down to 1
    bool shrink_last;  // which shrinkable columns
    bool whole_words;  // floor: the longest word (else min_width)
  };
  for (const Phase phase : {Phase{false, false, true}, Phase{false, true, true}, Phase{false, false, false},
                            Phase{false, true, false}, Phase{true, false, false}}) {
    while (total > width) {
      size_t best = columns_.size();
      for (size_t c = 0; c < columns_.size(); ++c) {
        const Column& col = columns_[c];
        if (!phase.any && (!col.shrinkable || col.shrink_last != phase.shrink_last)) continue;
        const size_t floor =
            phase.any ? 1 : std::max<size_t>({col.min_width, 1, phase.whole_words ? words[c] : 0});
        if (widths[c] <= floor) continue;
        if (best == columns_.size() || widths[c] > widths[best]) best = c;
      }
      if (best == columns_.size()) break;  // every column is at this phase's floor
      --widths[best];
      --total;
    }
  }
  return widths;
}

std::string Table::Render(size_t width, const Output& output, size_t indent) const {
  const std::vector<size_t> widths = FitWidths(width > indent ? width - indent : 0);
  std::string result;
  auto emit_row = [&](const std::vector<Cell>& cells) {
    std::vector<std::vector<std::string>> wrapped;
    size_t height = 1;
    for (size_t c = 0; c < columns_.size(); ++c) {
      wrapped.push_back(WrapToWidth(cells[c].text, widths[c]));
      height = std::max(height, wrapped.back().size());
    }
    for (size_t l = 0; l < height; ++l) {
      std::string line(indent, ' ');
      for (size_t c = 0; c < columns_.size(); ++c) {
        const std::string text = l < wrapped[c].size() ? wrapped[c][l] : "";
        const size_t pad = widths[c] - std::min(widths[c], DisplayWidth(text));
        const bool last = c + 1 == columns_.size();
        if (columns_[c].align == Align::kRight) line.append(pad, ' ');
        line += text.empty() ? text : output.Paint(text, cells[c].style);
        if (columns_[c].align == Align::kLeft && !last) line.append(pad, ' ');
        if (!last) line.append(kGap, ' ');
      }
      // Empty trailing cells leave blanks behind: trim them.
      const size_t e = line.find_last_not_of(' ');
      line.erase(e == std::string::npos || e < indent ? 0 : e + 1);
      result += line + "\n";
    }
  };
  std::vector<Cell> header;
  bool headed = false;
  for (const Column& col : columns_) {
    header.push_back({col.header, Style::kBold});
    headed = headed || !col.header.empty();
  }
  if (headed) emit_row(header);
  for (const auto& row : rows_) emit_row(row);
  return result;
}

std::string Table::Render(size_t width, size_t indent) const {
  std::ostringstream sink;
  return Render(width, Output(sink, sink, OutputOptions{}), indent);
}

}  // namespace reprise::console
