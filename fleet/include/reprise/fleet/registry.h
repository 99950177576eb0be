// Reads the fleet's instance registry straight from a journal, for the
// console's fleet mode (`reprise --fleet JOURNAL_URL`). The console must not
// link the store, so this small library reads only the `instances` table
// (schema v5, docs/fleet.md), read-only, with SQLite or libpq; everything
// else the console does goes through a live instance's gRPC API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace reprise::fleet {

struct Instance {
  std::string id;
  std::string service;
  std::string host;
  int64_t pid = 0;
  std::string address;  // gRPC address ("" when the agent serves no API)
  std::string agent_version;
  int64_t started_at_us = 0;
  int64_t heartbeat_at_us = 0;
};

struct ReadResult {
  std::vector<Instance> instances;  // live ones, by service then id
  std::string error;                // empty on success
};

// The live instances registered in the journal at `url` (sqlite:PATH or
// postgresql://...), of `service` ("" = every service).
ReadResult ReadLiveInstances(const std::string& url, const std::string& service);

}  // namespace reprise::fleet
