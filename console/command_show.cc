// show ID: one message with headers, lineage and payload.
#include "reprise/console/commands.h"
#include "reprise/console/message_view.h"
#include "reprise/console/session.h"

namespace reprise::console {
namespace {

CommandStatus Show(Session& session, const TokenizedLine& line) {
  if (line.tokens.size() != 2) return CommandStatus::Usage("usage: show ID");
  v1::GetMessageRequest request;
  request.set_id(line.tokens[1].text);
  v1::GetMessageResponse response;
  grpc::Status rpc = session.agent().GetMessage(request, &response);
  if (!rpc.ok()) return session.RpcFailure(rpc);
  if (session.output().json()) {
    session.PrintJson(response);
  } else {
    session.output().out() << RenderMessageDetail(response, session.output());
  }
  return CommandStatus::Ok();
}

}  // namespace

void RegisterShowCommand(CommandRegistry& registry) {
  registry.Add({
      .name = "show",
      .synopsis = "ID",
      .summary = "one message: fields, headers, lineage and payload",
      .help = "Shows every field of the message, its headers, its lineage (the\n"
              "messages that caused it, parent first; the messages it caused; and its\n"
              "reflowed copies, each with its outcome) and its payload: indented JSON\n"
              "when the payload is JSON, text for printable text/* payloads, otherwise\n"
              "a hex dump (offset, bytes, ASCII) of the first 4 KiB.\n"
              "\n"
              "Example:\n"
              "  show 01JD3K4M5N6P7Q8R9S0T1V2W3X\n"
              "\n"
              "With --json, prints the agent's GetMessage response (payload in base64).",
      .rpcs = {"GetMessage"},
      .handler = Show,
  });
}

}  // namespace reprise::console
