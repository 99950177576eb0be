// Re-derive: the derivers the host registered (Agent::Derive), and running
// one for a key over all of the key's recorded inputs to compare its output
// with the last one recorded. Internal to agent/.
#pragma once

#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capture.h"
#include "flows.h"
#include "reprise/agent/agent.h"
#include "reprise/reflow/engine.h"
#include "reprise/store/journal.h"

namespace reprise {

// How re-deriving one key went.
struct RederiveOutcome {
  enum class Kind { kUnchanged, kChanged, kFailed };
  std::string key;
  Kind kind = Kind::kUnchanged;
  std::string before;  // the last output recorded for the key ("" if none)
  std::string after;   // what the deriver computes now
  std::vector<std::string> diff;  // see diff.h
  std::string error;   // when failed
  std::string output_id;  // the new output recorded (changed, not a dry run)
};

// Thread-safe: registrations take the lock exclusively, lookups share it;
// derivers run outside it, so that keys re-derive in parallel (a job's
// lanes, API calls).
class Rederiver {
 public:
  // All three must outlive the Rederiver. A changed output is recorded and
  // sent through `capture`.
  Rederiver(Journal* journal, const FlowRegistry* flows, Capture* capture)
      : journal_(journal), flows_(flows), capture_(capture) {}
  Rederiver(const Rederiver&) = delete;
  Rederiver& operator=(const Rederiver&) = delete;

  // Agent::Derive (replaces any of the same name).
  void Derive(std::string_view name, std::string_view output_channel, Deriver fn);
  std::vector<std::string> DeriverNames() const;

  // Re-derives one key with a registered deriver (see RederiveOutcome); a
  // changed output is recorded with `job_id` when one is given.
  StatusOr<RederiveOutcome> RederiveKey(std::string_view deriver, const std::string& key,
                                        bool dry_run, const std::string& job_id = "");
  // Dispatcher::Rederive: RederiveKey for a re-derive job's item.
  DispatchResult Rederive(const std::string& deriver, const std::string& key,
                          const std::string& job_id, bool dry_run);

 private:
  Journal* const journal_;
  const FlowRegistry* const flows_;
  Capture* const capture_;
  mutable std::shared_mutex mu_;
  // name -> (output channel, deriver); guarded by mu_
  std::map<std::string, std::pair<std::string, Deriver>, std::less<>> derivers_;
};

}  // namespace reprise
