#include "reprise/console/output.h"

namespace reprise::console {

std::string Stylize(std::string_view text, Style style) {
  const char* code = nullptr;
  switch (style) {
    case Style::kNone: return std::string(text);
    case Style::kBold: code = "1"; break;
    case Style::kDim: code = "2"; break;
    case Style::kRed: code = "31"; break;
    case Style::kGreen: code = "32"; break;
    case Style::kYellow: code = "33"; break;
    case Style::kCyan: code = "36"; break;
  }
  return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
}

std::string Output::Paint(std::string_view text, Style style) const {
  if (!options_.color || style == Style::kNone) return std::string(text);
  return Stylize(text, style);
}

}  // namespace reprise::console
