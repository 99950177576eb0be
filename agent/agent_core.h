// The parts of a running agent that its API service reads. Internal to agent/.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "flows.h"
#include "knobs.h"
#include "logger.h"
#include "rederive.h"
#include "reprise/agent/agent.h"
#include "reprise/base/version.h"
#include "reprise/reflow/engine.h"
#include "reprise/store/journal.h"

namespace reprise {

// Thread-safe: the API service calls it from gRPC's threads.
class AgentCore {
 public:
  virtual ~AgentCore() = default;
  virtual const AgentOptions& options() const = 0;
  virtual const std::string& instance() const = 0;
  virtual const Logger& log() const = 0;
  virtual Journal& journal() = 0;
  virtual ReflowEngine& reflow() = 0;
  virtual const KnobRegistry& knobs() const = 0;
  virtual FlowRegistry& flows() = 0;
  virtual AgentStats Stats() const = 0;
  virtual std::vector<std::string> HandlerChannels() const = 0;
  virtual std::vector<std::string> SenderChannels() const = 0;
  virtual std::vector<std::string> DeriverNames() const = 0;
  // Re-derives one key with a registered deriver (see RederiveOutcome); a
  // changed output is recorded with `job_id` when one is given.
  virtual StatusOr<RederiveOutcome> RederiveKey(std::string_view deriver, const std::string& key,
                                                bool dry_run, const std::string& job_id = "") = 0;
  // Waits until everything recorded so far is committed to the journal.
  virtual Status Flush() = 0;
  virtual std::chrono::system_clock::time_point started_at() const = 0;
  virtual std::string listen_address() const = 0;
};

}  // namespace reprise
