// A Journal that wraps a real one and injects faults into writes: fail with a
// given status, or hold writes until released. For recorder and agent tests.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "reprise/store/journal.h"

namespace reprise::testing {

class FaultyJournal final : public Journal {
 public:
  explicit FaultyJournal(std::unique_ptr<Journal> real) : real_(std::move(real)) {}

  // Every write fails with `status` until ClearFault().
  void FailWrites(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fault_ = std::move(status);
  }
  void ClearFault() { FailWrites(Status::Ok()); }
  // Writes wait until Release() (the journal "falls behind").
  void HoldWrites() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      hold_ = false;
    }
    cv_.notify_all();
  }
  int failed_writes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_writes_;
  }
  int writes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return writes_;
  }
  Journal& real() { return *real_; }

  std::string Describe() const override { return "faulty " + real_->Describe(); }
  int SchemaVersion() const override { return real_->SchemaVersion(); }
  Status Write(const WriteBatch& batch, bool sync) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !hold_; });
      if (!fault_.ok()) {
        ++failed_writes_;
        return fault_;
      }
      ++writes_;
    }
    return real_->Write(batch, sync);
  }
  StatusOr<MessagePage> List(const ListQuery& q) override { return real_->List(q); }
  StatusOr<MessageLineage> Get(std::string_view id) override { return real_->Get(id); }
  StatusOr<std::vector<CountRow>> Count(std::string_view f, std::string_view g) override {
    return real_->Count(f, g);
  }
  StatusOr<uint64_t> DropBefore(int64_t cutoff_us) override { return real_->DropBefore(cutoff_us); }
  StatusOr<uint64_t> RemoveOldest(int64_t cutoff_us, size_t max) override {
    return real_->RemoveOldest(cutoff_us, max);
  }
  StatusOr<JournalExtent> Extent() override { return real_->Extent(); }
  StatusOr<std::vector<ChannelInfo>> Channels() override { return real_->Channels(); }
  StatusOr<std::vector<std::string>> Keys(std::string_view f, size_t max) override {
    return real_->Keys(f, max);
  }
  StatusOr<std::vector<Message>> Attempts(std::string_view channel, std::string_view transport_id) override {
    return real_->Attempts(channel, transport_id);
  }
  JobStore& jobs() override { return real_->jobs(); }
  AuditStore& audit() override { return real_->audit(); }
  FlowStore& flows() override { return real_->flows(); }
  InstanceStore& instances() override { return real_->instances(); }

 private:
  std::unique_ptr<Journal> real_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Status fault_;         // guarded by mu_
  bool hold_ = false;    // guarded by mu_
  int failed_writes_ = 0;  // guarded by mu_
  int writes_ = 0;         // guarded by mu_
};

}  // namespace reprise::testing
