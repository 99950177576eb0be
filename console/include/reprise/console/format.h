// Text formatting shared by the commands: payloads (JSON pretty-printing and
// hex dumps), times, durations, and making untrusted text safe and measurable
// on a terminal. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reprise::console {

// `text` re-indented (2 spaces) when it is one valid JSON value (RFC 8259,
// valid UTF-8), else nullopt. Keys keep their order and numbers their exact
// spelling; C1 control characters and DEL inside strings are escaped so a
// payload cannot drive the terminal.
std::optional<std::string> PrettyJson(std::string_view text);

// Classic hex dump, 16 bytes a line: offset, hex bytes in two groups of 8,
// and printable ASCII between bars. At most `max_bytes` are dumped; a last
// line says how many were left out.
std::string HexDump(std::string_view bytes, size_t max_bytes = 4096);

// True when `bytes` is valid UTF-8 with no control characters other than
// newline, tab and carriage return: safe to print as text.
bool IsPrintableText(std::string_view bytes);

// The byte offset of the first byte in `text` that is not valid UTF-8, or
// std::string_view::npos when all of it is.
size_t FirstInvalidUtf8(std::string_view text);

// "2024-11-23 07:55:12.345" in UTC (milliseconds); "" for the epoch/unset.
std::string FormatTimestamp(int64_t seconds, int32_t nanos);

// "3d 4h 5m 6s" style, leading zero units dropped ("42s", "5m 3s").
std::string FormatDuration(uint64_t seconds);

// A JSON string literal for `text` (quotes included).
std::string JsonQuote(std::string_view text);

// One line of untrusted text made safe for a terminal: control characters
// become escapes (\n, \t, \x1b), invalid UTF-8 bytes become \xNN.
std::string SanitizeForTerminal(std::string_view text);

// Columns a (valid UTF-8, sanitized) string takes on a terminal: wide East
// Asian characters count 2, combining marks 0, everything else 1.
size_t DisplayWidth(std::string_view text);

// `text` cut to at most `width` columns, ending in "…" when it was cut.
std::string TruncateToWidth(std::string_view text, size_t width);

// `text` as lines of at most `width` columns (0 counts as 1), broken at
// spaces; a word longer than a line is broken inside it, between code
// points. Blanks at a break are dropped; leading ones are kept. At least one
// line (empty for empty text).
std::vector<std::string> WrapToWidth(std::string_view text, size_t width);

// Each line of `text` longer than `width` columns wrapped (WrapToWidth),
// its continuation lines indented like the line itself.
std::string WrapText(std::string_view text, size_t width);

// `text` with ASCII letters in lower case (other bytes as they are): how
// the console shows the API's enum names ("FAILED" -> "failed").
std::string AsciiLower(std::string_view text);

}  // namespace reprise::console
