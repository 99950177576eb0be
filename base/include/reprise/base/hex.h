// Lowercase hexadecimal, for digests, tokens, escapes and dumps.
#pragma once

#include <string>
#include <string_view>

namespace reprise {

// The two hex digits of `byte`, appended to `out`.
void AppendHex(std::string& out, unsigned char byte);
// Every byte of `bytes` as two hex digits: "\x01\xab" -> "01ab".
std::string HexEncode(std::string_view bytes);

}  // namespace reprise
