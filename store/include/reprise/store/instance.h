// The fleet's registry, part of the journal: every agent process sharing a
// journal registers itself and heartbeats; one that stops heartbeating is
// marked gone. Jobs are shared by the live instances of a service.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

enum class InstanceState : int {
  kLive = 1,
  kGone = 2,
};
REPRISE_EXPORT std::string_view InstanceStateName(InstanceState s);  // "live" / "gone"

struct InstanceRecord {
  std::string id;       // "host:pid" unless the host chose one
  std::string service;  // instances of one service share its jobs
  std::string host;
  int64_t pid = 0;
  std::string address;  // the agent's gRPC address ("" without a server)
  std::string agent_version;
  std::string api_version;
  int64_t started_at_us = 0;
  int64_t heartbeat_at_us = 0;
  InstanceState state = InstanceState::kLive;
  std::string gone_reason;  // "stopped", "no heartbeat for 5s", ...
};

// Thread-safe like Journal.
class REPRISE_EXPORT InstanceStore {
 public:
  virtual ~InstanceStore() = default;
  // Registers (or re-registers) `instance` as live, heartbeat now.
  virtual Status Register(const InstanceRecord& instance) = 0;
  // Records a heartbeat; an instance wrongly marked gone (a long pause) is
  // live again. NOT_FOUND if it never registered.
  virtual Status Heartbeat(std::string_view id) = 0;
  virtual Status MarkGone(std::string_view id, std::string_view reason) = 0;
  // Marks gone every live instance whose last heartbeat is older than
  // `timeout`; returns how many.
  virtual StatusOr<uint64_t> ExpireStale(std::chrono::microseconds timeout) = 0;
  // Instances of `service` ("" = every service), live first, then by id.
  virtual StatusOr<std::vector<InstanceRecord>> ListInstances(std::string_view service,
                                                              bool include_gone) = 0;
};

// The live instances of `service` ("" = every service) registered in the
// journal at `journal_url`, by service then id: what ListInstances answers,
// for a process that does not open the journal (the console's fleet mode).
// A SQLite file is opened read-only and a PostgreSQL journal through a
// connection of its own; neither's schema is created or migrated.
// `sqlite::memory:` names no journal another process could share.
REPRISE_EXPORT StatusOr<std::vector<InstanceRecord>> ReadLiveInstances(std::string_view journal_url,
                                                                      std::string_view service);

}  // namespace reprise
