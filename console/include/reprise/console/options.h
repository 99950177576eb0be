// The `reprise` command line.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace reprise::console {

struct Options {
  std::string agent = "127.0.0.1:7070";   // --agent, else $REPRISE_AGENT
  std::optional<std::string> commands;    // -c "cmd; cmd"
  bool json = false;                      // --json
  bool yes = false;                       // --yes
  std::chrono::milliseconds timeout{10000};  // --timeout, per call
  // Never the token itself: arguments show in `ps` and shell history.
  std::string token_file;                 // --token-file, else $REPRISE_TOKEN
  std::string tls_ca, tls_cert, tls_key;  // --tls-ca, --tls-cert, --tls-key (PEM files)
  bool help = false;                      // --help
  bool version = false;                   // --version
  bool man = false;                       // --man (not in --help): the man page, for the build
  // Fleet mode: the journal whose registry lists the instances (docs/fleet.md).
  std::string fleet;                      // --fleet JOURNAL_URL
  std::string service;                    // --service NAME
  std::string instance;                   // --instance ID
};

struct ParsedOptions {
  Options options;
  std::string error;  // a usage error (exit status 2) when not empty
};

// Parses argv[1..]. `env_agent` is $REPRISE_AGENT (may be null).
ParsedOptions ParseOptions(const std::vector<std::string>& args, const char* env_agent);

// `--timeout` values: a duration (base/duration.h) of 1 ms to 1 hour: "10"
// (seconds), "2.5s", "500ms", "1m".
std::optional<std::chrono::milliseconds> ParseTimeout(const std::string& text);

// What `reprise --help` prints.
std::string UsageText();

}  // namespace reprise::console
