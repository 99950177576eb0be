#include "support/test_pki.h"

#include <fstream>
#include <sstream>
#include <vector>

namespace reprise::testing {
namespace {

// Runs openssl; "" on success, else what went wrong.
std::string OpenSsl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};  // RunCommand does not search PATH
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = RunCommand(argv, "", {}, std::chrono::seconds(60));
  if (r.exit_code == 0) return "";
  std::string line;
  for (const auto& a : argv) line += a + " ";
  return line + "failed (" + std::to_string(r.exit_code) + "): " + r.err;
}

}  // namespace

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out);
}

TestPki MakeTestPki(const TempDir& dir) {
  TestPki pki;
  const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                       "-nodes"};
  auto make_ca = [&](const std::string& name) {
    std::vector<std::string> args = {"req", "-x509"};
    args.insert(args.end(), ec.begin(), ec.end());
    args.insert(args.end(), {"-keyout", dir.File(name + ".key"), "-out", dir.File(name + ".crt"),
                             "-days", "1", "-subj", "/CN=" + name});
    return OpenSsl(args);
  };
  // A key and certificate `name` with subject `cn`, signed by CA `ca`.
  auto make_leaf = [&](const std::string& name, const std::string& cn, const std::string& ca,
                       const std::string& extensions) {
    std::vector<std::string> args = {"req"};
    args.insert(args.end(), ec.begin(), ec.end());
    args.insert(args.end(), {"-keyout", dir.File(name + ".key"), "-out", dir.File(name + ".csr"),
                             "-subj", "/CN=" + cn});
    if (std::string e = OpenSsl(args); !e.empty()) return e;
    if (!WriteFile(dir.File(name + ".ext"), extensions)) return "cannot write " + name + ".ext";
    return OpenSsl({"x509", "-req", "-in", dir.File(name + ".csr"), "-CA", dir.File(ca + ".crt"),
                    "-CAkey", dir.File(ca + ".key"), "-CAcreateserial", "-out",
                    dir.File(name + ".crt"), "-days", "1", "-extfile", dir.File(name + ".ext")});
  };
  for (std::string e :
       {make_ca("ca"), make_ca("other-ca"),
        make_leaf("server", "localhost", "ca",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"),
        make_leaf("client", "alice", "ca", "extendedKeyUsage=clientAuth\n"),
        make_leaf("stranger", "mallory", "other-ca", "extendedKeyUsage=clientAuth\n")}) {
    if (!e.empty()) {
      pki.error = e;
      return pki;
    }
  }
  pki.ca_cert = dir.File("ca.crt");
  pki.server_cert = dir.File("server.crt");
  pki.server_key = dir.File("server.key");
  pki.client_cert = dir.File("client.crt");
  pki.client_key = dir.File("client.key");
  pki.stranger_cert = dir.File("stranger.crt");
  pki.stranger_key = dir.File("stranger.key");
  return pki;
}

TestToken MakeToken(const std::string& name, const std::string& role) {
  CommandResult r = RunCommand({BinaryPath("reprise"), "token", "new", name, role});
  TestToken t;
  if (r.exit_code != 0) return t;
  // Lines: a heading, the token, a heading, the file's line.
  std::istringstream lines(r.out);
  std::vector<std::string> all;
  for (std::string l; std::getline(lines, l);) all.push_back(l);
  if (all.size() != 4) return t;
  t.token = all[1];
  t.line = all[3];
  return t;
}

}  // namespace reprise::testing
