// What commands work with: the output, the agent connection, the pager and
// what the console learned from the agent when it connected.
#pragma once

#include <optional>
#include <string>

#include <google/protobuf/message.h>

#include "reprise/console/agent_client.h"
#include "reprise/console/command_registry.h"
#include "reprise/console/fleet.h"
#include "reprise/console/output.h"
#include "reprise/console/pager.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::console {

struct SessionOptions {
  bool assume_yes = false;   // --yes: skip confirmations
  bool interactive = false;  // a person at the prompt
  bool terminal = false;     // standard input and output are a terminal: ask, show progress
};

// State shared by the commands of one console run. Not thread-safe: the
// console runs one command at a time on one thread.
class Session {
 public:
  Session(const CommandRegistry& registry, Output& output, AgentClient& agent, Pager& pager,
          SessionOptions options)
      : registry_(registry), output_(output), agent_(agent), pager_(pager), options_(options) {}

  const CommandRegistry& registry() const { return registry_; }
  Output& output() { return output_; }
  AgentClient& agent() { return agent_; }
  Pager& pager() { return pager_; }
  const SessionOptions& options() const { return options_; }
  // Fleet mode (nullptr outside it); `fleet` must outlive the session.
  const FleetMode* fleet() const { return fleet_; }
  void set_fleet(const FleetMode* fleet) { fleet_ = fleet; }

  // Calls Describe once and keeps the answer (completion, help, prompt).
  // Fails with kUnreachable when the agent cannot be reached.
  CommandStatus Connect();
  bool connected() const { return describe_.has_value(); }
  // Valid once connected.
  const v1::DescribeResponse& describe() const { return *describe_; }
  // Replaces the kept Describe answer (after `status` fetched a fresh one).
  void UpdateDescribe(const v1::DescribeResponse& response);
  // Empty until connected.
  const Vocabulary& vocabulary() const { return vocabulary_; }

  // A failed call as a command status. UNAVAILABLE means the agent cannot be
  // reached (exit 3, with a hint); other codes print as "CODE: message".
  CommandStatus RpcFailure(const grpc::Status& status) const;

  // Prints `message` as one line of JSON (the protobuf JSON mapping).
  void PrintJson(const google::protobuf::Message& message);

  // Runs `command` (its handler) for `line`.
  CommandStatus Run(const Command& command, const TokenizedLine& line);

  // Asks `question` ("Reflow 5 messages to self?") with " [y/N] " when
  // asks(), and returns the answer; true without asking otherwise. Ctrl-C
  // or end of input answer no.
  bool Confirm(const std::string& question);
  // Confirm asks: on a terminal, without --yes, and only for a command that
  // changes state (the registry's `mutates`, from the API methods it calls).
  bool asks() const {
    return options_.terminal && !options_.assume_yes && running_ != nullptr && running_->mutates;
  }
  // Live progress (redrawn in place) is shown: a terminal and not --json.
  bool live_progress() const { return options_.terminal && !output_.json(); }

  // Re-reads the flows for completion (after `flows` or `flow set`).
  void RefreshFlows();

 private:
  const CommandRegistry& registry_;
  Output& output_;
  AgentClient& agent_;
  Pager& pager_;
  SessionOptions options_;
  const FleetMode* fleet_ = nullptr;
  const Command* running_ = nullptr;  // the command Run() is running
  std::optional<v1::DescribeResponse> describe_;
  Vocabulary vocabulary_;
};

// Completion vocabulary from a Describe answer: filter fields and keywords,
// channel names (quoted, as filter values), and the values of the outcome
// and direction enums.
Vocabulary VocabularyFromDescribe(const v1::DescribeResponse& describe);

// `message` as compact JSON: proto field names, default values included (so
// a consumer sees every field), enums by name, 64-bit integers as strings
// and bytes as base64, as the protobuf JSON mapping specifies.
std::string MessageToJson(const google::protobuf::Message& message);

}  // namespace reprise::console
