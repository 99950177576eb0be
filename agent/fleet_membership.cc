#include "fleet_membership.h"

#include <unistd.h>

#include "reprise/base/clock.h"
#include "reprise/base/version.h"

namespace reprise {
namespace {

InstanceRecord Record(const AgentOptions& options, std::string instance, std::string address) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return {.id = std::move(instance),
          .service = options.service,
          .host = host,
          .pid = getpid(),
          .address = std::move(address),
          .agent_version = kVersion,
          .api_version = "reprise.v1",
          .started_at_us = NowUs()};
}

}  // namespace

FleetMembership::FleetMembership(InstanceStore* instances, const AgentOptions& options,
                                 std::string instance, std::string address,
                                 std::function<void()> after_heartbeat)
    : instances_(instances),
      record_(Record(options, std::move(instance), std::move(address))),
      gone_after_(options.gone_after),
      after_heartbeat_(std::move(after_heartbeat)) {
  Register();
  thread_ = std::thread([this, every = options.heartbeat_every] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, every, [this] { return closing_; })) {
      lock.unlock();
      Heartbeat();
      lock.lock();
    }
  });
}

FleetMembership::~FleetMembership() {
  StopHeartbeats();
  (void)instances_->MarkGone(record_.id, "stopped");
}

void FleetMembership::StopHeartbeats() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FleetMembership::Register() {
  Status st = instances_->Register(record_);
  std::lock_guard<std::mutex> lock(mu_);
  if (st.ok()) last_heartbeat_us_ = NowUs();
  heartbeat_error_ = st.ok() ? "" : st.ToString();
}

void FleetMembership::Heartbeat() {
  Status st = instances_->Heartbeat(record_.id);
  if (st.code() == StatusCode::kNotFound) return Register();  // the registry was reset
  if (st.ok()) {
    // Whoever heartbeats also retires the silent: their job items are
    // then claimed again without waiting for their leases.
    auto expired = instances_->ExpireStale(gone_after_);
    if (!expired.ok()) st = expired.status();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (st.ok()) last_heartbeat_us_ = NowUs();
    heartbeat_error_ = st.ok() ? "" : st.ToString();
  }
  after_heartbeat_();
}

void FleetMembership::Stats(AgentStats* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->last_heartbeat_us = last_heartbeat_us_;
  out->heartbeat_error = heartbeat_error_;
}

}  // namespace reprise
