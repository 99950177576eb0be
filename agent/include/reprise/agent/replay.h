// Reproduce a production case in a unit test: load the messages an operator
// exported with the console (`export FILTER FILE`) and replay them through a
// handler, the way the agent runs it, then check the recorded outcome comes
// back.
//
//   auto messages = reprise::replay::LoadExport("testdata/failed-payments.jsonl");
//   ASSERT_TRUE(messages.ok()) << messages.status().ToString();
//   for (const reprise::Message& m : *messages) {
//     reprise::replay::ReplayResult r = reprise::replay::Replay(m, handler);
//     EXPECT_EQ(reprise::replay::Mismatch(m, r), "");
//   }
//
// Nothing here touches a journal, a network or the clock: a replay is a plain
// function call, safe in any test. The export format (JSON Lines, one
// reprise.v1.Message per line) is described in docs/testing.md.
#pragma once

#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/agent/agent.h"
#include "reprise/base/export.h"
#include "reprise/base/status.h"
#include "reprise/store/message.h"

namespace reprise::replay {

// Reads an export file. Blank lines are skipped; any other line that is not a
// reprise.v1.Message in JSON is an error naming the file and the line:
// `failed.jsonl:3: ...`.
REPRISE_EXPORT StatusOr<std::vector<Message>> LoadExport(const std::string& path);
// The same for text already in memory; `source` names it in errors.
REPRISE_EXPORT StatusOr<std::vector<Message>> ParseExport(std::string_view text,
                                                          std::string_view source = "export");

// One message as an export line (JSON, no trailing newline), exactly as the
// console writes it.
REPRISE_EXPORT std::string ExportLine(const Message& message);
// Writes messages as an export file (replacing it), one line each.
REPRISE_EXPORT Status WriteExport(const std::string& path, const std::vector<Message>& messages);

// What happened when a message was replayed through a handler.
struct ReplayResult {
  Outcome outcome = Outcome::kPending;  // ok, failed or skipped
  std::string error;                    // as the agent would record it
  Status status;                        // what the handler returned (or threw)
  std::vector<Message> emitted;         // what it emitted, in order (not sent)
  std::string flow_variant;             // the flows it consulted, as the agent records them
};

struct ReplayOptions {
  // Variants ctx.Flow(name) returns, by flow name ("ledger.rounding" -> "v2"):
  // to try a case on another variant. Flows not listed here resolve to the
  // variant the recorded message names in its flow_variant, else to "".
  std::map<std::string, std::string, std::less<>> flows;
};

// Runs `handler` on `recorded` as the agent runs a handler on delivery:
//   - no handler (empty function): skipped, "no handler registered for channel C"
//   - the handler returns OK: ok
//   - it returns an error: failed, with the status message as the error
//   - it throws: failed, "handler for C threw: WHAT"
// The handler sees the recorded message as it first saw it: outcome pending,
// no error, no flow variant; ctx.Flow(name) returns the variant that handled
// it (see ReplayOptions). Emitted messages get the fields the agent would give
// them before recording (direction out, causation, correlation, job, content
// type) but no id and no record time, and nothing is sent.
REPRISE_EXPORT ReplayResult Replay(const Message& recorded, const Handler& handler,
                                   const ReplayOptions& options = {});
// Replays each message in order through the same handler.
REPRISE_EXPORT std::vector<ReplayResult> Replay(const std::vector<Message>& recorded,
                                                const Handler& handler,
                                                const ReplayOptions& options = {});
// Replays each message through the handler of its channel, like an agent
// with these handlers registered (a channel missing here is skipped).
using Handlers = std::map<std::string, Handler, std::less<>>;
REPRISE_EXPORT std::vector<ReplayResult> Replay(const std::vector<Message>& recorded,
                                                const Handlers& handlers,
                                                const ReplayOptions& options = {});

// Whether the replay ended as recorded: same outcome, same error text.
REPRISE_EXPORT bool Reproduces(const Message& recorded, const ReplayResult& replayed);
// "" when it reproduces; otherwise what differs, for a test failure:
// `message 01J... (payments.received, account:42): recorded failed "invalid
// amount", replayed ok`. Meant for EXPECT_EQ(Mismatch(m, r), "").
REPRISE_EXPORT std::string Mismatch(const Message& recorded, const ReplayResult& replayed);

// For gtest: prints a ReplayResult readably when an assertion shows one.
REPRISE_EXPORT void PrintTo(const ReplayResult& result, std::ostream* os);

}  // namespace reprise::replay
