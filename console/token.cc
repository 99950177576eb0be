#include "reprise/console/token.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "reprise/base/hex.h"

namespace reprise::console {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(data), n));
}

std::string Trim(std::string s) {
  auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), space));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), space).base(), s.end());
  return s;
}

}  // namespace

int RunTokenCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 3 || args[0] != "new" || (args[2] != "viewer" && args[2] != "operator")) {
    err << "reprise: usage: reprise token new NAME viewer|operator\n";
    return 2;
  }
  const std::string& name = args[1];
  bool valid = !name.empty() && name.size() <= 64 &&
               std::all_of(name.begin(), name.end(), [](unsigned char c) {
                 return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
               });
  if (!valid) {
    err << "reprise: token name \"" << name
        << "\": use up to 64 letters, digits, . _ - @ (it names the caller in the audit trail)\n";
    return 2;
  }
  unsigned char secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1) {
    err << "reprise: no random bytes from the system; no token made\n";
    return 1;
  }
  std::string token = "rpt_" + Hex(secret, sizeof secret);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  out << "token for " << name << " (shown only now; keep it in a file only " << name
      << " can read, for --token-file):\n"
      << token << "\n"
      << "line for the agent's token file (it holds only the hash):\n"
      << name << " " << args[2] << " sha256:" << Hex(digest, sizeof digest) << "\n";
  return 0;
}

std::optional<std::string> ReadWholeFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  return text.str();
}

std::optional<std::string> ReadTokenFile(const std::string& path, std::string* error) {
  auto text = ReadWholeFile(path, error);
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    line = Trim(line);
    if (!line.empty() && line[0] != '#') return CheckToken(line, path, error);
  }
  *error = path + " holds no token";
  return std::nullopt;
}

std::optional<std::string> CheckToken(std::string_view token, std::string_view source,
                                      std::string* error) {
  std::string trimmed = Trim(std::string(token));
  if (trimmed.empty()) {
    *error = std::string(source) + " holds no token";
    return std::nullopt;
  }
  for (size_t i = 0; i < trimmed.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(trimmed[i]);
    if (c < 0x21 || c > 0x7e) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", c);
      *error = "the token in " + std::string(source) + " has a character that cannot be sent (" +
               byte + " at position " + std::to_string(i + 1) +
               "); a token is one word of printable ASCII, as `reprise token new` prints it";
      return std::nullopt;
    }
  }
  return trimmed;
}

}  // namespace reprise::console
