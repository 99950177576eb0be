// libFuzzer target: the console's command parsing, end to end. The input is
// a `-c` text: it is split into commands, tokenized, completed at every
// length, and each command runs through the real Shell against a real agent
// (in this process, over loopback gRPC) whose journal is empty and which
// registers no handlers, senders or knobs, so that what a command starts ends
// at once. `export` is left out: it writes files named by the input.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "reprise/agent/agent.h"
#include "reprise/console/agent_client.h"
#include "reprise/console/command_registry.h"
#include "reprise/console/commands.h"
#include "reprise/console/output.h"
#include "reprise/console/pager.h"
#include "reprise/console/session.h"
#include "reprise/console/shell.h"
#include "reprise/console/tokenizer.h"

namespace {

using namespace reprise::console;

struct Harness {
  std::unique_ptr<reprise::Agent> agent;
  CommandRegistry registry;
  std::ostringstream out, err;
  std::unique_ptr<Output> output;
  std::unique_ptr<AgentClient> client;
  NoPager pager;
  std::unique_ptr<Session> session;
  std::unique_ptr<Shell> shell;
};

Harness* Setup() {
  auto* h = new Harness;  // lives for the whole run
  // Invalid UTF-8 in string fields is refused (and would be logged per input).
  google::protobuf::SetLogHandler(nullptr);
  std::string dir = std::filesystem::temp_directory_path() /
                    ("reprise-console-fuzz-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto agent = reprise::Agent::Start({.service = "fuzz",
                                      .journal = "sqlite:" + dir + "/fuzz.journal",
                                      .listen = "127.0.0.1:0"});
  if (!agent.ok()) std::abort();
  h->agent = std::move(*agent);
  RegisterHelpCommands(h->registry);
  RegisterStatusCommand(h->registry);
  RegisterFindCommand(h->registry);
  RegisterShowCommand(h->registry);
  RegisterCountCommand(h->registry);
  RegisterTraceCommand(h->registry);
  RegisterReflowCommands(h->registry);
  RegisterKnobCommands(h->registry);
  RegisterAuditCommand(h->registry);
  RegisterFlowCommands(h->registry);
  RegisterDeriveCommands(h->registry);
  h->output = std::make_unique<Output>(h->out, h->err, OutputOptions{});
  h->client = std::make_unique<AgentClient>(h->agent->listen_address(), std::chrono::seconds(5));
  h->session = std::make_unique<Session>(h->registry, *h->output, *h->client, h->pager,
                                         SessionOptions{});
  h->shell = std::make_unique<Shell>(*h->session);
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = Setup();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)NeedsContinuation(text);
  (void)IsBlankOrComment(text);
  for (const std::string& command : SplitCommands(text)) {
    TokenizedLine line = Tokenize(command);
    if (!line.tokens.empty()) {
      (void)h->registry.Suggest(line.tokens[0].text);
      (void)h->registry.HelpFor(line.tokens[0].text);
    }
    for (size_t cut = 0; cut <= command.size(); cut += 1 + command.size() / 8) {
      (void)h->shell->CompleteLine(std::string_view(command).substr(0, cut));
    }
  }
  (void)h->shell->Execute(text);
  h->out.str("");
  h->err.str("");
  return 0;
}
