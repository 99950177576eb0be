// What both journal backends' flow stores share: the columns a flow is read
// from, validation of declarations and changes, the variant list's storage
// form, the history's JSON and the NOT_FOUND message with a suggestion.
// Internal to store/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "reprise/store/flow.h"

namespace reprise::flow_rules {

// The columns of `flows` both backends' ReadFlow read, in order; the last
// counts the flow's assignments.
inline constexpr const char* kFlowColumns =
    "name, variants, default_variant, rollout_variant, rollout_percent, version, updated_at, "
    "updated_by, reason, (SELECT count(*) FROM flow_assignments a WHERE a.flow = flows.name)";

// Variant names cannot hold commas (they are validated), so a comma list is enough.
std::string JoinVariants(const std::vector<std::string>& v);
std::vector<std::string> SplitVariants(std::string_view s);

Status ValidateDeclaration(std::string_view name, const std::vector<std::string>& variants,
                           std::string_view default_variant);
// The history's JSON for a first declaration.
std::string DeclaredJson(const std::vector<std::string>& variants, std::string_view default_variant);

// Checks `c` against the flow as it is; INVALID_ARGUMENT lists the variants.
Status ValidateChange(const FlowRecord& current, const FlowChange& c);
// A rollout change clears the rollout when its percent is 0 or it names no variant.
inline bool ClearsRollout(const FlowRollout& r) { return r.percent <= 0 || r.variant.empty(); }
// The history's JSON for a validated change.
std::string ChangeJson(const FlowRecord& current, const FlowChange& c);

// The flow in a row of kFlowColumns; `Row` is a backend's view of the
// current row (see ReadMessageRow in message_sql.h).
template <typename Row>
FlowRecord ReadFlowRow(const Row& row) {
  FlowRecord f;
  f.name = row.text(0);
  f.variants = SplitVariants(row.text(1));
  f.default_variant = row.text(2);
  f.rollout.variant = row.text(3);
  f.rollout.percent = row.real(4);
  f.version = row.integer(5);
  f.updated_at_us = row.integer(6);
  f.updated_by = row.text(7);
  f.reason = row.text(8);
  f.assignments = static_cast<uint64_t>(row.integer(9));
  return f;
}

// NOT_FOUND for an undeclared flow, with the closest declared name.
Status FlowNotFound(std::string_view name, const std::vector<FlowRecord>& all);

}  // namespace reprise::flow_rules
