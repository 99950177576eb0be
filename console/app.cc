#include "reprise/console/app.h"

#include <clocale>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "reprise/base/version.h"
#include "reprise/console/agent_client.h"
#include "reprise/console/command_registry.h"
#include "reprise/console/commands.h"
#include "reprise/console/format.h"
#include "reprise/console/line_reader.h"
#include "reprise/console/man_page.h"
#include "reprise/console/options.h"
#include "reprise/console/pager.h"
#include "reprise/console/session.h"
#include "reprise/console/shell.h"
#include "reprise/console/terminal.h"
#include "reprise/console/token.h"

namespace reprise::console {

int RunConsole(int argc, char** argv) {
  std::setlocale(LC_CTYPE, "");  // readline: multibyte input
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "token") {
    return RunTokenCommand({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  ParsedOptions parsed = ParseOptions(args, std::getenv("REPRISE_AGENT"));
  if (!parsed.error.empty()) {
    std::cerr << "reprise: " << parsed.error << "\n(reprise --help lists the options)\n";
    return 2;
  }
  const Options& options = parsed.options;
  if (options.help) {
    std::cout << UsageText();
    return 0;
  }
  if (options.version) {
    std::cout << "reprise " << kVersion << " (api reprise.v1)\n";
    return 0;
  }
  if (options.man) {
    CommandRegistry registry;
    RegisterBuiltinCommands(registry);
    std::cout << ManPage(registry);
    return 0;
  }

  TerminalInfo terminal = DetectTerminal();
  const bool interactive = !options.commands && terminal.stdin_tty;
  Output output(std::cout, std::cerr,
                {.json = options.json,
                 .color = terminal.color && !options.json,
                 .width = terminal.width});
  ClientSecurity security;
  std::string error;
  auto read = [&](const std::string& path, std::string* out) {
    if (path.empty()) return true;
    auto text = ReadWholeFile(path, &error);
    if (text) *out = std::move(*text);
    return text.has_value();
  };
  if (!options.token_file.empty()) {
    auto token = ReadTokenFile(options.token_file, &error);
    if (token) security.token = std::move(*token);
  } else if (const char* env = std::getenv("REPRISE_TOKEN"); env != nullptr && *env != '\0') {
    auto token = CheckToken(env, "$REPRISE_TOKEN", &error);
    if (token) security.token = std::move(*token);
  }
  if (!error.empty() || !read(options.tls_ca, &security.tls_ca_pem) ||
      !read(options.tls_cert, &security.tls_cert_pem) ||
      !read(options.tls_key, &security.tls_key_pem)) {
    std::cerr << "reprise: " << error << "\n";
    return 2;
  }
  // Fleet mode: queries go to the first live instance; status and knob go to
  // each (see fleet.h).
  FleetMode fleet{.journal = options.fleet, .service = options.service, .instance = options.instance};
  std::string address = options.agent;
  if (!options.fleet.empty()) {
    fleet::ReadResult targets = fleet.Targets();
    if (targets.error.empty() && targets.instances.empty()) {
      targets.error = "no live instance" +
                      (options.instance.empty() ? "" : " " + options.instance) +
                      (options.service.empty() ? "" : " of service " + options.service) +
                      " is registered in " + options.fleet;
    }
    if (!targets.error.empty()) {
      std::cerr << "reprise: " << targets.error << "\n";
      return 3;
    }
    address = targets.instances.front().address;
  }
  AgentClient agent(address, options.timeout, std::move(security));
  std::unique_ptr<Pager> pager;
  if (terminal.stdin_tty && terminal.stdout_tty && !options.json) {
    pager = std::make_unique<TerminalPager>(std::cout, terminal.height);
  } else {
    pager = std::make_unique<NoPager>();
  }
  CommandRegistry registry;
  RegisterBuiltinCommands(registry);
  Session session(registry, output, agent, *pager,
                  {.assume_yes = options.yes,
                   .interactive = interactive,
                   .terminal = terminal.stdin_tty && terminal.stdout_tty});
  if (!options.fleet.empty()) session.set_fleet(&fleet);
  Shell shell(session);

  if (options.commands) return shell.RunCommands(*options.commands);
  if (!terminal.stdin_tty) {
    StreamLineReader reader(std::cin);
    return shell.RunScript(reader);
  }

  // Interactive: without an agent there is nothing to do, so say so now
  // rather than at the first command.
  CommandStatus connected = session.Connect();
  if (!connected.ok()) {
    std::cerr << output.Paint(connected.message, Style::kRed) << "\n";
    return ExitCode(connected);
  }
  const auto& d = session.describe();
  const std::string service = SanitizeForTerminal(d.service());
  std::string banner = "reprise " + std::string(kVersion) + " connected to " + service;
  if (!d.instance().empty()) banner += " (" + SanitizeForTerminal(d.instance()) + ")";
  banner += " at " + address;
  if (!options.fleet.empty()) banner += " (fleet mode: status and knob run on every live instance)";
  banner = WrapText(banner + ". Type help for commands; Tab completes; Ctrl-D quits.", output.width());
  // The service in bold: painted after wrapping, which measures plain text.
  const size_t at = banner.find(service, banner.find("connected to"));
  if (!service.empty() && at != std::string::npos) {
    banner.replace(at, service.size(), output.Paint(service, Style::kBold));
  }
  std::cout << banner << "\n";
  ReadlineLineReader reader(DefaultHistoryPath(), [&shell](std::string_view line) {
    return shell.CompleteLine(line);
  });
  return shell.RunInteractive(reader);
}

}  // namespace reprise::console
