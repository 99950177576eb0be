// Minimal JSON text helpers for the journal's own columns (headers are stored
// as a flat JSON object of strings). Not a general JSON library.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reprise/store/message.h"

namespace reprise::json {

// Appends `s` as a JSON string literal (quoted, escaped) to `out`.
void AppendQuoted(std::string& out, std::string_view s);
// {"a":"1","b":"2"}; "" for an empty map (stored as NULL).
std::string EncodeHeaders(const Headers& headers);
// Parses what EncodeHeaders wrote; nullopt when `text` is not a flat object of strings.
std::optional<Headers> DecodeHeaders(std::string_view text);

}  // namespace reprise::json
