// Minimal JSON text helpers for the journal's own columns (headers are stored
// as a flat JSON object of strings). Not a general JSON library.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/store/message.h"

namespace reprise::json {

// Appends `s` as a JSON string literal (quoted, escaped) to `out`.
void AppendQuoted(std::string& out, std::string_view s);
// ["a","b"]: a list of strings (a job's keys) as one JSON array, which a
// query takes as one parameter however long the list is.
std::string EncodeStrings(const std::vector<std::string>& values);
// {"a":"1","b":"2"}; "" for an empty map (stored as NULL).
std::string EncodeHeaders(const Headers& headers);
// Parses what EncodeHeaders wrote; nullopt when `text` is not a flat object of strings.
std::optional<Headers> DecodeHeaders(std::string_view text);

// True when `text` is one JSON object or array (RFC 8259, UTF-8) that
// PostgreSQL's jsonb also accepts (no \u0000, no lone surrogates), nested
// at most `max_depth` deep. The PostgreSQL journal keeps such payloads in
// jsonb beside the exact bytes.
bool IsJsonDocument(std::string_view text, int max_depth = 512);

}  // namespace reprise::json
