// export FILTER FILE: messages with payloads as JSON Lines (docs/testing.md).
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include "reprise/console/commands.h"
#include "reprise/console/completion.h"
#include "reprise/console/format.h"
#include "reprise/console/session.h"

namespace reprise::console {
namespace {

CommandStatus Export(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() < 2) return CommandStatus::Usage("usage: export [FILTER] FILE");
  const std::string file = line.tokens.back().text;
  const std::string filter = line.Span(1, line.tokens.size() - 1);
  struct stat st {};
  if (stat(file.c_str(), &st) == 0 && !session.options().assume_yes) {
    return CommandStatus::Failed("export: " + file +
                                 " already exists; not overwriting it (use --yes to replace it)");
  }
  const std::string temp = file + ".reprise-partial";
  std::ofstream stream(temp, std::ios::binary | std::ios::trunc);
  if (!stream) return CommandStatus::Failed("export: cannot write " + temp);

  google::protobuf::util::JsonPrintOptions json;
  json.preserve_proto_field_names = true;
  v1::ListMessagesRequest request;
  request.set_filter(filter);
  request.set_page_size(1000);
  request.set_with_payload(true);
  request.set_oldest_first(true);
  uint64_t n = 0;
  while (true) {
    v1::ListMessagesResponse page;
    grpc::Status rpc = session.agent().ListMessages(request, &page);
    if (!rpc.ok()) {
      stream.close();
      std::remove(temp.c_str());
      return session.RpcFailure(rpc);
    }
    for (const auto& m : page.messages()) {
      std::string text;
      if (!google::protobuf::util::MessageToJsonString(m, &text, json).ok()) {
        stream.close();
        std::remove(temp.c_str());
        return CommandStatus::Failed("export: cannot convert message " + m.id() + " to JSON");
      }
      stream << text << "\n";
      ++n;
    }
    if (page.next_page_token().empty() || page.messages().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  stream.close();
  if (!stream || std::rename(temp.c_str(), file.c_str()) != 0) {
    std::remove(temp.c_str());
    return CommandStatus::Failed("export: cannot write " + file);
  }
  Output& out = session.output();
  if (out.json()) {
    out.out() << "{\"file\":" << JsonQuote(file) << ",\"messages\":" << n << "}\n";
  } else {
    out.out() << "exported " << n << (n == 1 ? " message" : " messages") << " to "
              << SanitizeForTerminal(file) << "\n";
  }
  return CommandStatus::Ok();
}

}  // namespace

void RegisterExportCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "export",
      .synopsis = "[FILTER] FILE",
      .summary = "write matching messages, with payloads, to a JSON Lines file",
      .help = "Writes every message the filter selects (oldest first, payloads\n"
              "included) to FILE, one reprise.v1.Message per line in protobuf's JSON\n"
              "mapping: the format reprise::replay::LoadExport reads in a unit test (see\n"
              "docs/testing.md). FILE is the last word; quote it if it has spaces. An\n"
              "existing file is not overwritten unless --yes is given.\n"
              "\n"
              "With --json, prints {\"file\": ..., \"messages\": N}.\n"
              "\n"
              "Examples:\n"
              "  export outcome = failed failed.jsonl\n"
              "  export channel = \"payments.received\" and key = \"account:42\" case-42.jsonl",
      .rpcs = {"ListMessages"},
      .handler = Export,
      .completer =
          [](const CompletionRequest& request) {
            return CompleteFilter(request.args_before_word, request.vocabulary);
          },
  });
}

}  // namespace reprise::console
