#include "reprise/console/man_page.h"

#include <sstream>

#include "reprise/base/version.h"
#include "reprise/console/options.h"

namespace reprise::console {
namespace {

// Plain text as roff shows it verbatim in a no-fill block: backslashes and
// hyphens escaped, no line read as a request.
std::string Verbatim(const std::string& text) {
  std::string out = ".nf\n";
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && (line[0] == '.' || line[0] == '\'')) out += "\\&";
    for (char c : line) {
      if (c == '\\') {
        out += "\\e";
      } else if (c == '-') {
        out += "\\-";
      } else {
        out += c;
      }
    }
    out += '\n';
  }
  return out + ".fi\n";
}

}  // namespace

std::string ManPage(const CommandRegistry& registry) {
  std::string out = std::string(".TH REPRISE 1 \"\" \"reprise ") + kVersion + "\" \"Reprise\"\n" +
                    ".SH NAME\nreprise \\- the operator console of Reprise agents\n" +
                    ".SH SYNOPSIS\n" + Verbatim(UsageText()) + ".SH COMMANDS\n" +
                    "Commands run interactively, with \\fB\\-c\\fR, or from standard input.\n";
  for (const Command& c : registry.commands()) {
    out += ".SS " + c.name + "\n" + Verbatim(registry.HelpFor(c.name));
  }
  return out + ".SH SEE ALSO\nconsole.md in the documentation of Reprise (share/doc/reprise)\n";
}

}  // namespace reprise::console
