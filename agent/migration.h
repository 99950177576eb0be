// Migrations: move keys to a variant of a flow, then reflow their inbound
// messages through the handlers so that their outputs follow the new code
// path. Internal to agent/. See docs/flows.md ("Migrations").
#pragma once

#include <string>
#include <vector>

#include "flows.h"
#include "reprise/reflow/engine.h"
#include "reprise/store/journal.h"

namespace reprise {

struct MigrationRequest {
  std::string flow;
  std::string variant;
  std::vector<std::string> keys;  // one of keys, filter, percent
  std::string filter;
  double percent = -1;            // < 0: not a rollout migration
  int64_t reflow_since_us = -1;   // < 0: no reflow
  bool dry_run = false;
  std::string reason;
  std::string who;
  double rate = 0;
  uint32_t concurrency = 1;
};

struct MigrationResult {
  std::vector<std::string> keys;  // that move
  uint64_t messages = 0;          // the reflow replays
  int64_t flow_version = 0;
  std::optional<JobRecord> job;
};

// At most this many keys per migration by key list or filter; larger moves
// go by percentage.
inline constexpr size_t kMaxMigrationKeys = 100000;

StatusOr<MigrationResult> Migrate(const MigrationRequest& request, FlowRegistry& flows,
                                  Journal& journal, ReflowEngine& engine);

}  // namespace reprise
