#include "flows.h"

#include <cmath>
#include <cstdio>

namespace reprise {

uint64_t FlowHash(std::string_view flow, std::string_view key) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 1099511628211ull;
  };
  for (char c : flow) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : key) mix(static_cast<unsigned char>(c));
  return h;
}

std::string ResolveFlow(const FlowSnapshot& flow, std::string_view key) {
  if (auto it = flow.assignments.find(key); it != flow.assignments.end()) return it->second;
  const FlowRollout& r = flow.record.rollout;
  if (!r.variant.empty() && r.percent > 0) {
    const auto threshold = static_cast<uint32_t>(std::llround(r.percent * 100));
    if (FlowBucket(flow.record.name, key) < threshold) return r.variant;
  }
  return flow.record.default_variant;
}

FlowRegistry::FlowRegistry(FlowStore* store, std::chrono::milliseconds poll_every)
    : store_(store), poll_every_(poll_every) {
  if (poll_every_.count() > 0) poll_thread_ = std::thread([this] { Poll(); });
}

FlowRegistry::~FlowRegistry() {
  {
    std::lock_guard<std::mutex> lock(poll_mu_);
    closing_ = true;
  }
  poll_cv_.notify_all();
  if (poll_thread_.joinable()) poll_thread_.join();
}

Status FlowRegistry::Declare(std::string_view name, const std::vector<std::string>& variants,
                             std::string_view default_variant) {
  REPRISE_ASSIGN_OR_RETURN(auto rec, store_->Declare(name, variants, default_variant));
  std::lock_guard<std::mutex> lock(poll_mu_);
  return Reload(std::string(name));
}

std::string FlowRegistry::Resolve(std::string_view name, std::string_view key) const {
  std::shared_ptr<const FlowSnapshot> snap;
  {
    std::shared_lock lock(mu_);
    auto it = flows_.find(name);
    if (it == flows_.end()) return "";
    snap = it->second;
  }
  return ResolveFlow(*snap, key);
}

StatusOr<FlowRecord> FlowRegistry::Set(const FlowChange& change) {
  auto rec = store_->Apply(change);
  if (!rec.ok()) return rec;
  bool declared_here;
  {
    std::shared_lock lock(mu_);
    declared_here = flows_.count(change.flow) > 0;
  }
  if (declared_here) {
    std::lock_guard<std::mutex> lock(poll_mu_);
    // The change is committed; a failed reload is retried by the poll.
    if (Status st = Reload(change.flow); !st.ok()) seen_counter_ = -1;
  }
  return rec;
}

Status FlowRegistry::ReloadIfChanged() {
  std::lock_guard<std::mutex> lock(poll_mu_);
  REPRISE_ASSIGN_OR_RETURN(auto counter, store_->ChangeCounter());
  if (counter == seen_counter_.load()) return Status::Ok();
  for (const std::string& name : Names()) REPRISE_RETURN_IF_ERROR(Reload(name));
  seen_counter_ = counter;
  return Status::Ok();
}

std::vector<std::string> FlowRegistry::Names() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, snap] : flows_) out.push_back(name);
  return out;
}

// Called with poll_mu_ held. The snapshot is built outside mu_ and swapped
// in, so lookups never wait on the journal.
Status FlowRegistry::Reload(const std::string& name) {
  auto snap = std::make_shared<FlowSnapshot>();
  REPRISE_ASSIGN_OR_RETURN(auto rec, store_->Get(name));
  snap->record = std::move(rec);
  REPRISE_ASSIGN_OR_RETURN(auto assignments, store_->AllAssignments(name));
  snap->assignments = std::move(assignments);
  std::unique_lock lock(mu_);
  flows_[name] = std::move(snap);
  return Status::Ok();
}

void FlowRegistry::Poke() {
  if (!poll_thread_.joinable()) {
    (void)ReloadIfChanged();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(poll_mu_);
    poked_ = true;
  }
  poll_cv_.notify_all();
}

void FlowRegistry::Poll() {
  std::string last_error;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(poll_mu_);
      poll_cv_.wait_for(lock, poll_every_, [this] { return closing_ || poked_; });
      if (closing_) return;
      poked_ = false;
    }
    Status st = ReloadIfChanged();
    // Report a failing journal once per distinct error, not every poll.
    std::string err = st.ok() ? "" : st.ToString();
    if (err != last_error && !err.empty()) {
      std::fprintf(stderr, "reprise: reloading flows: %s\n", err.c_str());
    }
    last_error = err;
  }
}

}  // namespace reprise
