// This instance's membership of its service's fleet (docs/fleet.md): it is
// registered in the journal's instance registry, heartbeats, retires the
// instances that went silent, and is marked gone when it stops. Internal to
// agent/.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "reprise/agent/agent.h"
#include "reprise/store/instance.h"

namespace reprise {

// Thread-safe, but for StopHeartbeats, which the owner calls once as it stops.
class FleetMembership {
 public:
  // Registers `instance`, serving the API on `address` ("" without a
  // server), and heartbeats every options.heartbeat_every on a thread of its
  // own; `after_heartbeat` runs there after each heartbeat. `instances` must
  // outlive the membership.
  FleetMembership(InstanceStore* instances, const AgentOptions& options, std::string instance,
                  std::string address, std::function<void()> after_heartbeat);
  // Stops heartbeating and marks the instance gone ("stopped").
  ~FleetMembership();
  FleetMembership(const FleetMembership&) = delete;
  FleetMembership& operator=(const FleetMembership&) = delete;

  // Stops heartbeating, before what `after_heartbeat` uses stops; the
  // instance stays registered until the membership ends.
  void StopHeartbeats();
  // Sets the last heartbeat the journal took and the last error of
  // registering or heartbeating.
  void Stats(AgentStats* out) const;

 private:
  void Register();
  void Heartbeat();

  InstanceStore* const instances_;
  const InstanceRecord record_;
  const std::chrono::milliseconds gone_after_;
  const std::function<void()> after_heartbeat_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;           // guarded by mu_
  int64_t last_heartbeat_us_ = 0;  // guarded by mu_
  std::string heartbeat_error_;    // guarded by mu_
  std::thread thread_;             // heartbeats; stops with closing_
};

}  // namespace reprise
