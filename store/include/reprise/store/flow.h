// Flows: named switches with variants (`ledger.rounding`: v1, v2), resolved
// per key. The host declares a flow and its variants in code; operators choose,
// through the API, a default variant, explicit per-key assignments and a
// percentage rollout. Every change gets a new version of the flow and a
// history row, and bumps a journal-wide change counter that agents poll to
// pick up changes made by other processes. See docs/flows.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

struct FlowRollout {
  std::string variant;  // "" when no rollout is set
  double percent = 0;   // 0..100; keys whose bucket is below it get `variant`
};

// A flow as stored: the code's declaration plus the operators' choices.
struct FlowRecord {
  std::string name;
  std::vector<std::string> variants;  // as last declared by code
  std::string default_variant;
  FlowRollout rollout;
  int64_t version = 0;                // 1 when declared, +1 per change
  int64_t updated_at_us = 0;
  std::string updated_by;
  std::string reason;
  uint64_t assignments = 0;           // number of per-key assignments
};

// One operator change, applied atomically as one new version.
struct FlowChange {
  std::string flow;
  std::optional<std::string> default_variant;  // unchanged when absent
  std::map<std::string, std::string> assign;   // key -> variant
  std::vector<std::string> unassign;           // keys that go back to rollout/default
  std::optional<FlowRollout> rollout;          // unchanged when absent; percent 0 clears
  std::string who;
  std::string reason;
};

struct FlowHistoryEntry {
  std::string flow;
  int64_t version = 0;
  int64_t at_us = 0;
  std::string who;
  std::string reason;
  std::string change;  // what changed, as JSON
};

struct FlowAssignment {
  std::string key;
  std::string variant;
};

struct FlowAssignmentPage {
  std::vector<FlowAssignment> assignments;  // ordered by key
  std::string next_page_token;              // empty on the last page
};

// Thread-safe; also safe across processes sharing one journal (each change is
// one write transaction).
class REPRISE_EXPORT FlowStore {
 public:
  virtual ~FlowStore() = default;

  // Creates the flow with `default_variant` when absent. When present, only
  // the declared variant list is refreshed: the operators' default, rollout
  // and assignments are never overwritten by a (re)start of the code.
  // Names and variants: letters, digits, '.', '_', '-'.
  virtual StatusOr<FlowRecord> Declare(std::string_view name,
                                       const std::vector<std::string>& variants,
                                       std::string_view default_variant) = 0;
  // NOT_FOUND (with the closest name as a suggestion) when undeclared.
  virtual StatusOr<FlowRecord> Get(std::string_view name) = 0;
  virtual StatusOr<std::vector<FlowRecord>> List() = 0;
  // Validates the change against the flow's variants (INVALID_ARGUMENT lists
  // them; percent must be within 0..100), then writes it with a new version
  // and a history row in one transaction. Returns the flow as it now is.
  virtual StatusOr<FlowRecord> Apply(const FlowChange& change) = 0;
  // Per-key assignments of a flow, by key, one page at a time.
  virtual StatusOr<FlowAssignmentPage> Assignments(std::string_view flow, uint32_t page_size,
                                                   std::string_view page_token) = 0;
  // Every assignment of a flow (for an agent's in-memory snapshot).
  virtual StatusOr<std::map<std::string, std::string, std::less<>>> AllAssignments(
      std::string_view flow) = 0;
  // Versioned changes of a flow, newest first.
  virtual StatusOr<std::vector<FlowHistoryEntry>> History(std::string_view flow,
                                                          uint32_t limit) = 0;
  // Moves whenever any flow is declared or changed, by any process: a cheap
  // query agents poll to know when to reload.
  virtual StatusOr<int64_t> ChangeCounter() = 0;
};

}  // namespace reprise
