// Certificates for TLS tests, made at test time with the openssl command:
// a CA, a server certificate for 127.0.0.1/localhost and a client
// certificate signed by it, and a second, unrelated CA with its own client.
#pragma once

#include <string>

#include "support/test_env.h"

namespace reprise::testing {

struct TestPki {
  std::string ca_cert;                    // the CA agents and clients trust
  std::string server_cert, server_key;    // CN=localhost, SAN IP:127.0.0.1, DNS:localhost
  std::string client_cert, client_key;    // CN=alice, signed by the CA
  std::string stranger_cert, stranger_key;  // CN=mallory, signed by another CA
  std::string error;  // why making them failed ("" on success)
  bool ok() const { return error.empty(); }
};

// Writes the files into `dir` (PEM, EC P-256 keys, valid for a day).
TestPki MakeTestPki(const TempDir& dir);

// A token file entry made by the real `reprise token new NAME ROLE`.
struct TestToken {
  std::string token;  // the secret, as a client sends it
  std::string line;   // "NAME ROLE sha256:HEX", for the agent's token file
};
TestToken MakeToken(const std::string& name, const std::string& role);

// Writes `content` to `path` (a token file, say); false on failure.
bool WriteFile(const std::string& path, const std::string& content);

}  // namespace reprise::testing
