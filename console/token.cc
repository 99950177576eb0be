#include "reprise/console/token.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace reprise::console {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
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
    auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    line.erase(line.begin(), std::find_if_not(line.begin(), line.end(), space));
    line.erase(std::find_if_not(line.rbegin(), line.rend(), space).base(), line.end());
    if (!line.empty() && line[0] != '#') return line;
  }
  *error = path + " holds no token";
  return std::nullopt;
}

}  // namespace reprise::console
