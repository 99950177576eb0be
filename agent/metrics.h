// The agent's metrics (docs/operations.md#metrics): counters its rooms keep
// besides AgentStats, and the Prometheus text exposition of all of them.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/status.h"
#include "reprise/store/message.h"

namespace reprise {

class AgentCore;

// Messages recorded and failed per channel since start, counted by Capture
// as it records them. Thread-safe: a channel seen before costs a shared lock
// and an atomic add.
class ChannelCounts {
 public:
  void CountMessage(std::string_view channel, Direction direction) { Find(channel, direction).messages++; }
  void CountFailure(std::string_view channel, Direction direction) { Find(channel, direction).failed++; }

  struct Row {
    std::string channel;
    Direction direction = Direction::kIn;
    uint64_t messages = 0;
    uint64_t failed = 0;
  };
  std::vector<Row> Rows() const;  // by direction, then channel

 private:
  struct Counts {
    std::atomic<uint64_t> messages{0};
    std::atomic<uint64_t> failed{0};
  };
  Counts& Find(std::string_view channel, Direction direction);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Counts>, std::less<>> by_direction_[2];  // kIn, kOut
};

// API calls by method and status code since start, counted by the audit
// interceptor, which sees every call. Thread-safe.
class CallCounts {
 public:
  void Count(std::string_view method, StatusCode code);

  struct Row {
    std::string method;
    StatusCode code = StatusCode::kOk;
    uint64_t calls = 0;
  };
  std::vector<Row> Rows() const;  // by method, then code

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, StatusCode>, uint64_t> counts_;
};

// The exposition (text format 0.0.4) of everything `core` counts: recording,
// commit latency, journal health and extent, retention, unfinished jobs,
// channels and API calls. Reads the journal for its extent and jobs; what it
// cannot read becomes reprise_scrape_errors, not a failed scrape.
std::string RenderMetrics(AgentCore& core);

}  // namespace reprise
