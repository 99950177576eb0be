// The capture path: every message crossing the process boundary is recorded
// and runs through its channel's handler (inbound) or sender (outbound); see
// docs/architecture.md, "The Deliver flow". Internal to agent/.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "flows.h"
#include "handler_context.h"
#include "metrics.h"
#include "reprise/agent/agent.h"
#include "reprise/base/ulid.h"
#include "reprise/reflow/engine.h"
#include "reprise/store/recorder.h"

namespace reprise {

// A handler's or deriver's context in a running agent: flows resolve from
// the agent's registry, for the handled message's key.
class DeliveryContext final : public HandlerContext {
 public:
  DeliveryContext(const Message& in, std::vector<Message>* emitted, const FlowRegistry* flows)
      : HandlerContext(in, emitted), flows_(flows) {}

 private:
  std::string ResolveFlow(std::string_view name) override {
    return flows_->Resolve(name, message().key);
  }
  const FlowRegistry* flows_;
};

// The handlers and senders by channel, and the recorder that journals what
// they see: Deliver and the Record* calls of the Agent, and the copies that
// reflow jobs replay.
// Thread-safe: registrations take the registry's lock exclusively, lookups
// share it; handlers and senders run outside it, on the caller's thread.
class Capture {
 public:
  // `journal` and `flows` must outlive the Capture.
  Capture(const AgentOptions& options, Journal* journal, const FlowRegistry* flows);
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Registrations, as Agent::Handle and Agent::Send (replace any).
  void Handle(std::string_view channel, Handler handler);
  void Send(std::string_view channel, Sender sender);
  std::vector<std::string> HandlerChannels() const;
  std::vector<std::string> SenderChannels() const;

  // Agent::Deliver.
  DeliverResult Deliver(std::string_view channel, std::string_view key, std::string_view payload,
                        DeliverOptions options);
  // Agent::RecordInbound and RecordOutbound, by direction.
  StatusOr<std::string> Record(Direction direction, std::string_view channel, std::string_view key,
                               std::string_view payload, const DeliverOptions& options);
  // Agent::RecordOutcome.
  Status RecordOutcome(std::string_view id, Outcome outcome, std::string_view error);
  Status Flush() { return recorder_.Flush(); }
  const Recorder& recorder() const { return recorder_; }
  // AgentCore::AwaitRecorded: a second at most (a journal that slow serves
  // the read without the latest records, and the wait is counted).
  void AwaitRecorded() { recorder_.AwaitRecorded(std::chrono::seconds(1)); }

  // Dispatcher::Redeliver: a reflow job's copy of `original`.
  DispatchResult Redeliver(const Message& original, ReflowTarget target, const std::string& job_id,
                           bool redelivery);

  // A new message with its id, record time, correlation and content type.
  Message NewMessage(Direction direction, std::string_view channel, std::string_view key,
                     std::string_view payload, DeliverOptions options);
  // RESOURCE_EXHAUSTED (counted) when `payload` is over max_payload_bytes.
  Status CheckPayload(std::string_view payload);
  // Records `out`, then sends it through its channel's sender and records
  // how that went, which it returns. An error, and nothing sent, when `out`
  // could not be recorded in process or power durability.
  StatusOr<OutcomeUpdate> RecordAndSend(const Message& out);

  RecordingStats Stats() const;
  uint64_t refused_oversize() const { return refused_oversize_.load(std::memory_order_relaxed); }
  const ChannelCounts& channel_counts() const { return counts_; }

 private:
  struct HandleResult {
    Status status;  // the handler's
    Outcome outcome = Outcome::kOk;
    std::string error;  // as recorded
    bool handled = true;  // false: not recorded in a synchronous mode, handler not run
  };
  // Records `in`, runs its channel's handler, records the outcome and what
  // the handler emitted, then sends those through their senders.
  HandleResult Handle(const Message& in);
  OutcomeUpdate SendOne(const Message& out);
  // Makes `in` a further attempt of the journal's earlier attempts of the
  // delivery `transport_id` on its channel, if any: attempt n+1, origin the
  // first. True when one of them was handled ok (`in` then says so).
  bool LinkAttempts(Message& in, const std::string& transport_id);
  void FillNewMessage(Message& m);
  Handler FindHandler(const std::string& channel) const;
  Sender FindSender(const std::string& channel) const;
  // In process and power durability a record that failed to commit fails
  // the call; in async it stays queued and the call goes on.
  bool Synchronous() const { return synchronous_; }

  Journal* const journal_;
  const size_t max_payload_bytes_;
  const bool synchronous_;
  const FlowRegistry* const flows_;
  Recorder recorder_;
  UlidGenerator ids_;
  std::atomic<uint64_t> refused_oversize_{0};
  ChannelCounts counts_;

  mutable std::shared_mutex registry_mu_;
  std::map<std::string, Handler, std::less<>> handlers_;  // guarded by registry_mu_
  std::map<std::string, Sender, std::less<>> senders_;    // guarded by registry_mu_
};

}  // namespace reprise
