// Lowercase hexadecimal, for digests, tokens, escapes and dumps.
#pragma once

#include <string>
#include <string_view>

#include "reprise/base/export.h"

namespace reprise {

// The two hex digits of `byte`, appended to `out`.
REPRISE_EXPORT void AppendHex(std::string& out, unsigned char byte);
// Every byte of `bytes` as two hex digits: "\x01\xab" -> "01ab".
REPRISE_EXPORT std::string HexEncode(std::string_view bytes);

}  // namespace reprise
