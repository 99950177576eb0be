// API tokens on the console's side: `reprise token new NAME ROLE` makes one,
// and the console reads the one it sends from a file or $REPRISE_TOKEN.
// See docs/security.md.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace reprise::console {

// `reprise token new NAME ROLE`: prints a new random token once and the line
// ("NAME ROLE sha256:HEX") that lets the agent accept it. Returns the exit
// status (2 on a usage error).
int RunTokenCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The token in `path`: its first line that is neither blank nor a # comment,
// trimmed. nullopt, with *error set, when there is none or it cannot be read.
std::optional<std::string> ReadTokenFile(const std::string& path, std::string* error);

// `token` from `source` (a file name, or "$REPRISE_TOKEN") trimmed and
// checked: it travels in an HTTP/2 header, so only printable ASCII without
// spaces will do. nullopt, with *error set, otherwise.
std::optional<std::string> CheckToken(std::string_view token, std::string_view source,
                                      std::string* error);

// The whole content of a (PEM) file; nullopt, with *error set, when unreadable.
std::optional<std::string> ReadWholeFile(const std::string& path, std::string* error);

}  // namespace reprise::console
