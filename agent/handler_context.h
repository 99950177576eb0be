// What a handler's Context does wherever it runs (live delivery, reflow,
// re-derive, a replay in a unit test): collect emitted messages as the agent
// records them, and remember which flow variants were consulted. Only how a
// flow resolves differs. Internal to agent/ (and reprise_replay).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reprise/agent/agent.h"

namespace reprise {

// "application/json" for what looks like JSON, "application/octet-stream"
// for bytes with control characters, "text/plain" otherwise: good enough for
// display (the console pretty-prints JSON and hex-dumps binary).
std::string_view GuessContentType(std::string_view payload);  // a literal

class HandlerContext : public Context {
 public:
  HandlerContext(const Message& in, std::vector<Message>* emitted) : in_(in), emitted_(emitted) {}

  const Message& message() const final { return in_; }
  std::string Flow(std::string_view name) final;
  // An outbound message caused by the one handled (causation = its id, same
  // correlation and job), recorded and sent by the agent after the handler.
  void Emit(std::string_view channel, std::string_view key, std::string_view payload,
            Headers headers, std::string_view content_type) final;

  // What the message records as its flow variant: the variant when one flow
  // was consulted, "flow=variant,..." when several, "" when none.
  std::string FlowVariant() const;

 protected:
  virtual std::string ResolveFlow(std::string_view name) = 0;

 private:
  const Message& in_;
  std::vector<Message>* emitted_;
  std::vector<std::pair<std::string, std::string>> consulted_;  // flow, variant
};

}  // namespace reprise
