#include "reprise/console/options.h"

#include <cstdlib>

#include "reprise/base/duration.h"

namespace reprise::console {

std::optional<std::chrono::milliseconds> ParseTimeout(const std::string& text) {
  auto d = reprise::ParseDuration(text);
  if (!d.ok() || *d < std::chrono::milliseconds(1) || *d > std::chrono::hours(1)) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

ParsedOptions ParseOptions(const std::vector<std::string>& args, const char* env_agent) {
  ParsedOptions parsed;
  Options& o = parsed.options;
  if (env_agent != nullptr && *env_agent != '\0') o.agent = env_agent;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::optional<std::string> inline_value;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    auto value = [&](std::string* out) {
      if (inline_value) {
        *out = *inline_value;
        return true;
      }
      if (i + 1 >= args.size()) {
        parsed.error = arg + " needs a value";
        return false;
      }
      *out = args[++i];
      return true;
    };
    auto no_value = [&]() {
      if (!inline_value) return true;
      parsed.error = arg + " takes no value";
      return false;
    };
    if (arg == "--agent" || arg == "-a") {
      if (!value(&o.agent)) return parsed;
    } else if (arg == "-c" || arg == "--command") {
      std::string c;
      if (!value(&c)) return parsed;
      // Several -c options run one after the other.
      o.commands = o.commands ? *o.commands + "; " + c : c;
    } else if (arg == "--json") {
      if (!no_value()) return parsed;
      o.json = true;
    } else if (arg == "--yes" || arg == "-y") {
      if (!no_value()) return parsed;
      o.yes = true;
    } else if (arg == "--timeout") {
      std::string t;
      if (!value(&t)) return parsed;
      auto d = ParseTimeout(t);
      if (!d) {
        parsed.error = "--timeout: expected a duration of 1ms to 1h such as 10, 2.5s, 500ms or 1m, not \"" +
                       t + "\"";
        return parsed;
      }
      o.timeout = *d;
    } else if (arg == "--fleet") {
      if (!value(&o.fleet)) return parsed;
    } else if (arg == "--service") {
      if (!value(&o.service)) return parsed;
    } else if (arg == "--instance") {
      if (!value(&o.instance)) return parsed;
    } else if (arg == "--token-file") {
      if (!value(&o.token_file)) return parsed;
    } else if (arg == "--tls-ca") {
      if (!value(&o.tls_ca)) return parsed;
    } else if (arg == "--tls-cert") {
      if (!value(&o.tls_cert)) return parsed;
    } else if (arg == "--tls-key") {
      if (!value(&o.tls_key)) return parsed;
    } else if (arg == "--token") {
      parsed.error = "--token: a token on the command line shows in ps and shell history; "
                     "use --token-file FILE or $REPRISE_TOKEN";
      return parsed;
    } else if (arg == "--help" || arg == "-h") {
      o.help = true;
    } else if (arg == "--version") {
      o.version = true;
    } else if (arg == "--man") {
      o.man = true;
    } else if (!arg.empty() && arg[0] == '-') {
      parsed.error = "unknown option " + arg;
      return parsed;
    } else {
      parsed.error = "unexpected argument \"" + arg + "\" (to run a command, use -c \"" + arg +
                     " ...\")";
      return parsed;
    }
  }
  if ((!o.service.empty() || !o.instance.empty()) && o.fleet.empty()) {
    parsed.error = std::string(o.service.empty() ? "--instance" : "--service") +
                   " chooses instances in fleet mode: add --fleet JOURNAL_URL";
    return parsed;
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    parsed.error = "--tls-cert and --tls-key go together (a client certificate and its key)";
    return parsed;
  }
  // "host:port", "[v6]:port" or a gRPC target such as "unix:/path".
  if (o.agent.find(':') == std::string::npos) {
    parsed.error = "--agent: expected HOST:PORT, not \"" + o.agent + "\"";
  }
  return parsed;
}

std::string UsageText() {
  return R"(usage: reprise [options]                 interactive console (on a terminal)
       reprise [options] -c "CMD; CMD"     run commands and exit
       reprise [options] < script          run commands from standard input
       reprise token new NAME viewer|operator
                                           make an API token (docs/security.md)

Connects to one Reprise agent through its gRPC API to inspect the messages
the service journaled.

options:
  -a, --agent HOST:PORT   the agent (default 127.0.0.1:7070, or $REPRISE_AGENT)
      --fleet JOURNAL_URL fleet mode: the live instances registered in this
                          journal (sqlite:PATH or postgresql://...); status and
                          knob run on each of them, other commands on one
      --service NAME      fleet mode: only this service's instances
      --instance ID       fleet mode: only this instance
  -c, --command "CMDS"    run the commands (separated by ;) and exit
      --json              machine-readable output: one JSON document per command
  -y, --yes               do not ask for confirmation (mutating commands)
      --timeout DURATION  deadline of each call to the agent (default 10s)
      --token-file FILE   the API token to send (default: $REPRISE_TOKEN)
      --tls-ca FILE       connect with TLS; FILE is the CA that signed the agent's
                          certificate (PEM)
      --tls-cert FILE     client certificate for agents that require mutual TLS
      --tls-key FILE      its private key
  -h, --help              this text
      --version           the console's version

exit status: 0 success, 1 a command failed, 2 usage error, 3 the agent
cannot be reached. Type "help" in the console for its commands; the full
reference is docs/console.md.
)";
}

}  // namespace reprise::console
