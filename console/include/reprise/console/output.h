// Where command output goes and how it is decorated.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>

namespace reprise::console {

enum class Style { kNone, kBold, kDim, kRed, kGreen, kYellow, kCyan };

struct OutputOptions {
  bool json = false;    // machine-readable output (--json)
  bool color = false;   // ANSI colors (terminal and not NO_COLOR)
  size_t width = 100;   // table width
};

// The console's two streams plus the decisions about them (JSON, colors,
// width). Not thread-safe: used from the console's single thread.
class Output {
 public:
  Output(std::ostream& out, std::ostream& err, OutputOptions options)
      : out_(out), err_(err), options_(options) {}

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  bool json() const { return options_.json; }
  bool color() const { return options_.color; }
  size_t width() const { return options_.width; }
  void set_width(size_t width) { options_.width = width; }

  // `text` wrapped in the style's ANSI codes when colors are on.
  std::string Paint(std::string_view text, Style style) const;

 private:
  std::ostream& out_;
  std::ostream& err_;
  OutputOptions options_;
};

// `text` wrapped in ANSI codes for `style` (no check of whether colors are on).
std::string Stylize(std::string_view text, Style style);

}  // namespace reprise::console
