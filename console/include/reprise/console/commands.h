// The built-in console commands. Each lives in its own file (command_*.cc)
// with its help text and completer, and registers itself through one of the
// functions below; RegisterBuiltinCommands calls them all.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reprise/console/command_registry.h"
#include "reprise/console/output.h"
#include "reprise/console/tokenizer.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::console {

void RegisterBuiltinCommands(CommandRegistry& registry);

void RegisterHelpCommands(CommandRegistry& registry);  // help, quit
void RegisterStatusCommand(CommandRegistry& registry);
void RegisterFleetCommands(CommandRegistry& registry);  // instances
void RegisterFindCommand(CommandRegistry& registry);
void RegisterShowCommand(CommandRegistry& registry);
void RegisterCountCommand(CommandRegistry& registry);
void RegisterReflowCommands(CommandRegistry& registry);  // reflow, jobs, watch, cancel
void RegisterTraceCommand(CommandRegistry& registry);
void RegisterExportCommand(CommandRegistry& registry);
void RegisterKnobCommands(CommandRegistry& registry);    // knobs, knob
void RegisterAuditCommand(CommandRegistry& registry);
void RegisterFlowCommands(CommandRegistry& registry);    // flows, flow
void RegisterDeriveCommands(CommandRegistry& registry);  // rederive, migrate

class Session;
// Follows a job with WatchJob until it ends: a live line on a terminal,
// a summary line otherwise (the final JobProgress with --json). Ctrl-C
// detaches. Failed when the job ended stopped. `final`, when given, receives
// the job as it ended (left empty when detached).
CommandStatus FollowJob(Session& session, const std::string& id, v1::Job* final = nullptr);

// A `KEYWORD VALUE` clause at the end of a command line, such as
// `limit 200` (find) or `by channel` (count). The filter is then the span
// from token 1 to `filter_end` (exclusive).
struct TrailingClause {
  std::optional<std::string> value;  // set when the clause is present
  size_t filter_end = 0;             // token index where the filter ends
  std::string error;                 // keyword without a value
};
// What `status` prints for a Describe response.
// Fleet mode (command_fleet.cc): status and knob on every target instance,
// with the answers side by side and totals.
CommandStatus FleetStatus(Session& session);
CommandStatus FleetKnob(Session& session, const v1::InvokeKnobRequest& request);

std::string RenderStatus(const v1::DescribeResponse& describe, const Output& output);

// A time as `audit since=`, `migrate ... since` take it: relative to now
// ("-90s", "-15m", "-1h", "-7d") or RFC 3339. False when it is neither.
bool ParseSince(const std::string& text, google::protobuf::Timestamp* out);

TrailingClause ParseTrailingClause(const TokenizedLine& line, std::string_view keyword);

}  // namespace reprise::console
