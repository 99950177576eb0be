// Reads the fleet's instance registry straight from a journal, for the
// console's fleet mode (`reprise --fleet JOURNAL_URL`): the live instances,
// read-only, through the store's reader (ReadLiveInstances in
// reprise/store/instance.h, docs/fleet.md), which creates and migrates
// nothing. The console sees no store type through this header; everything
// else it does goes through a live instance's gRPC API.
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
