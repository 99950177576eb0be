#include "capture.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>

#include "host_code.h"
#include "reprise/base/clock.h"

namespace reprise {
namespace {

// The recorder's settings and figures are its own (store/): hosts see
// agent.h's, mapped here.
RecorderOptions::Durability ToRecorder(Durability d) {
  switch (d) {
    case Durability::kAsync: return RecorderOptions::Durability::kAsync;
    case Durability::kProcess: return RecorderOptions::Durability::kProcess;
    case Durability::kPower: return RecorderOptions::Durability::kPower;
  }
  return RecorderOptions::Durability::kAsync;
}

RecorderOptions::OverloadPolicy ToRecorder(OverloadPolicy p) {
  return p == OverloadPolicy::kDrop ? RecorderOptions::OverloadPolicy::kDrop
                                    : RecorderOptions::OverloadPolicy::kBlock;
}

// AgentOptions::intent_log, defaults filled in.
std::string IntentLogPath(const AgentOptions& options) {
  if (options.intent_log == "none") return "";
  if (!options.intent_log.empty()) return options.intent_log;
  std::string_view journal = options.journal;
  if (journal.rfind("sqlite:", 0) == 0) {
    journal.remove_prefix(7);
    journal = journal.substr(0, journal.find('?'));
    // In memory, records die with the process anyway.
    return journal.empty() || journal == ":memory:" ? "" : std::string(journal) + ".intent";
  }
  std::string service = options.service;
  for (char& c : service) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  return "/var/tmp/reprise-" + service + ".intent";
}

template <typename Map>
std::vector<std::string> Keys(std::shared_mutex& mu, const Map& m) {
  std::shared_lock lock(mu);
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}

}  // namespace

std::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kAsync: return "async";
    case Durability::kProcess: return "process";
    case Durability::kPower: return "power";
  }
  return "async";
}

std::optional<Durability> ParseDurability(std::string_view s) {
  if (s == "async") return Durability::kAsync;
  if (s == "process") return Durability::kProcess;
  if (s == "power") return Durability::kPower;
  return std::nullopt;
}

std::string_view OverloadPolicyName(OverloadPolicy p) {
  return p == OverloadPolicy::kDrop ? "drop" : "block";
}

std::optional<OverloadPolicy> ParseOverloadPolicy(std::string_view s) {
  if (s == "block") return OverloadPolicy::kBlock;
  if (s == "drop") return OverloadPolicy::kDrop;
  return std::nullopt;
}

Capture::Capture(const AgentOptions& options, Journal* journal, const FlowRegistry* flows)
    : journal_(journal),
      max_payload_bytes_(options.max_payload_bytes),
      synchronous_(options.durability != Durability::kAsync),
      flows_(flows),
      recorder_(journal, {.durability = ToRecorder(options.durability),
                          .overload = ToRecorder(options.overload),
                          .max_queue_bytes = options.max_queue_bytes,
                          .intent_log = IntentLogPath(options)}) {}

void Capture::Handle(std::string_view channel, Handler handler) {
  std::unique_lock lock(registry_mu_);
  handlers_[std::string(channel)] = std::move(handler);
}

void Capture::Send(std::string_view channel, Sender sender) {
  std::unique_lock lock(registry_mu_);
  senders_[std::string(channel)] = std::move(sender);
}

std::vector<std::string> Capture::HandlerChannels() const { return Keys(registry_mu_, handlers_); }
std::vector<std::string> Capture::SenderChannels() const { return Keys(registry_mu_, senders_); }

RecordingStats Capture::Stats() const {
  const RecorderStats r = recorder_.Stats();
  return {.recorded = r.recorded,
          .committed = r.committed,
          .dropped = r.dropped,
          .failed_writes = r.failed_writes,
          .rejected = r.rejected,
          .batches = r.batches,
          .queued = r.queued,
          .queued_bytes = r.queued_bytes,
          .held_bytes = r.held_bytes,
          .last_error = r.last_error,
          .failing_since = r.failing_since,
          .last_fault = r.last_fault,
          .last_fault_at = r.last_fault_at,
          .recovered_at = r.recovered_at,
          .commit_latency = r.commit_latency};
}

Handler Capture::FindHandler(const std::string& channel) const {
  std::shared_lock lock(registry_mu_);
  auto it = handlers_.find(channel);
  return it == handlers_.end() ? Handler() : it->second;
}

Sender Capture::FindSender(const std::string& channel) const {
  std::shared_lock lock(registry_mu_);
  auto it = senders_.find(channel);
  return it == senders_.end() ? Sender() : it->second;
}

DeliverResult Capture::Deliver(std::string_view channel, std::string_view key,
                               std::string_view payload, DeliverOptions options) {
  DeliverResult result;
  if (Status st = CheckPayload(payload); !st.ok()) {
    result.status = st;
    return result;
  }
  const std::string transport_id = options.transport_id;
  const bool redelivered = options.redelivered;
  Message in = NewMessage(Direction::kIn, channel, key, payload, std::move(options));
  result.id = in.id;
  if (!transport_id.empty()) {
    in.headers[std::string(kTransportIdHeader)] = transport_id;
    if (redelivered) {
      in.headers["reprise-redelivery"] = "transport";
      // Its first attempt may still be only in the intent log: let the
      // journal see it first.
      AwaitRecorded();
    }
    if (LinkAttempts(in, transport_id)) {
      // An earlier attempt was handled ok: this one is only recorded.
      in.outcome = Outcome::kSkipped;
      if (recorder_.Record(in).ok()) counts_.CountMessage(in.channel, Direction::kIn);
      return result;
    }
  }
  HandleResult handled = Handle(in);
  result.status = std::move(handled.status);
  result.handled = handled.handled;
  return result;
}

bool Capture::LinkAttempts(Message& in, const std::string& transport_id) {
  // A failed lookup records the delivery as a first attempt: a duplicate in
  // the journal is better than a delivery not handled.
  auto attempts = journal_->Attempts(in.channel, transport_id);
  if (!attempts.ok() || attempts->empty()) return false;
  const Message& first = attempts->front();
  in.origin_id = first.origin_id.empty() ? first.id : first.origin_id;
  in.correlation_id = first.correlation_id;
  in.attempt = 1;
  for (const Message& a : *attempts) in.attempt = std::max(in.attempt, a.attempt + 1);
  for (const Message& a : *attempts) {
    if (a.outcome == Outcome::kOk) {
      in.error = "already handled ok as " + a.id + "; the handler did not run again";
      return true;
    }
  }
  return false;
}

Capture::HandleResult Capture::Handle(const Message& in) {
  // Write-ahead: in process/power durability the inbound record is in the
  // intent log or committed before the handler runs, so a crash during
  // handling still leaves it to replay.
  if (Status st = recorder_.Record(in); !st.ok() && Synchronous()) {
    Status err = st.WithPrefix("not handled: the inbound message could not be recorded");
    return {err, Outcome::kFailed, err.message(), /*handled=*/false};
  }
  counts_.CountMessage(in.channel, Direction::kIn);
  Handler handler = FindHandler(in.channel);
  std::vector<Message> emitted;
  HandleResult result;
  OutcomeUpdate in_outcome{.id = in.id};
  if (!handler) {
    in_outcome.outcome = Outcome::kSkipped;
    in_outcome.error = "no handler registered for channel " + in.channel;
  } else {
    DeliveryContext ctx(in, &emitted, flows_);
    result.status = Contain("handler for " + in.channel, [&] { return handler(in, ctx); });
    in_outcome.flow_variant = ctx.FlowVariant();
    in_outcome.outcome = result.status.ok() ? Outcome::kOk : Outcome::kFailed;
    in_outcome.error = result.status.ok() ? "" : result.status.message();
  }
  result.outcome = in_outcome.outcome;
  result.error = in_outcome.error;
  if (result.outcome == Outcome::kFailed) counts_.CountFailure(in.channel, Direction::kIn);
  WriteBatch after;
  for (Message& out : emitted) {
    FillNewMessage(out);
    if (!result.status.ok()) {
      // What a failed handler emitted is kept as evidence but not sent.
      out.outcome = Outcome::kSkipped;
      out.error = "not sent: the handler failed";
    }
    counts_.CountMessage(out.channel, Direction::kOut);
    after.messages.push_back(out);
  }
  after.outcomes.push_back(std::move(in_outcome));
  (void)recorder_.Submit(std::move(after));

  if (result.status.ok()) {
    WriteBatch sent;
    for (const Message& out : emitted) sent.outcomes.push_back(SendOne(out));
    (void)recorder_.Submit(std::move(sent));
  }
  return result;
}

DispatchResult Capture::Redeliver(const Message& original, ReflowTarget target,
                                  const std::string& job_id, bool redelivery) {
  Message copy = original;
  copy.payload_size = 0;
  copy.origin_id = original.id;
  copy.job_id = job_id;
  copy.attempt = original.attempt + 1;
  copy.outcome = Outcome::kPending;
  copy.error.clear();
  copy.flow_variant.clear();
  if (redelivery) {
    // It was in flight when the process died: it may have been delivered.
    copy.headers["reprise-redelivery"] = "in-flight-at-crash";
  }
  FillNewMessage(copy);
  if (target == ReflowTarget::kSelf) {
    HandleResult r = Handle(copy);
    return {copy.id, r.outcome, r.error};
  }
  // Downstream: the copy is recorded, then sent through the channel's sender.
  auto sent = RecordAndSend(copy);
  if (!sent.ok()) {
    return {"", Outcome::kFailed,
            sent.status().WithPrefix("not sent: the copy could not be recorded").message()};
  }
  return {copy.id, sent->outcome, sent->error};
}

StatusOr<OutcomeUpdate> Capture::RecordAndSend(const Message& out) {
  if (Status st = recorder_.Record(out); !st.ok() && Synchronous()) return st;
  counts_.CountMessage(out.channel, Direction::kOut);
  OutcomeUpdate sent = SendOne(out);
  (void)recorder_.RecordOutcome(sent);
  return sent;
}

OutcomeUpdate Capture::SendOne(const Message& out) {
  OutcomeUpdate o{.id = out.id};
  Sender sender = FindSender(out.channel);
  if (!sender) {
    o.outcome = Outcome::kSkipped;
    o.error = "no sender registered for channel " + out.channel;
    return o;
  }
  Status st = Contain("sender for " + out.channel, [&] { return sender(out); });
  o.outcome = st.ok() ? Outcome::kOk : Outcome::kFailed;
  o.error = st.ok() ? "" : st.message();
  if (!st.ok()) counts_.CountFailure(out.channel, Direction::kOut);
  return o;
}

// The host's thread: no Message is built; the recorder copies the fields
// straight into its queue. The id is the one allocation (it is returned).
StatusOr<std::string> Capture::Record(Direction direction, std::string_view channel,
                                      std::string_view key, std::string_view payload,
                                      const DeliverOptions& options) {
  REPRISE_RETURN_IF_ERROR(CheckPayload(payload));
  const int64_t now = NowUs();
  std::string id = ids_.Next(now / 1000);
  MessageView m{.id = id,
                .channel = channel,
                .key = key,
                .correlation_id = options.correlation_id.empty() ? std::string_view(id)
                                                                  : options.correlation_id,
                .causation_id = options.causation_id,
                .payload = payload,
                .content_type = options.content_type.empty() ? GuessContentType(payload)
                                                             : options.content_type,
                .headers = options.headers.empty() ? nullptr : &options.headers,
                .direction = direction,
                .recorded_at_us = now};
  REPRISE_RETURN_IF_ERROR(recorder_.Record(m));
  counts_.CountMessage(channel, direction);
  return id;
}

Status Capture::RecordOutcome(std::string_view id, Outcome outcome, std::string_view error) {
  if (!IsUlid(id)) return InvalidArgument("\"" + std::string(id) + "\" is not a message id");
  return recorder_.RecordOutcome({.id = std::string(id), .outcome = outcome, .error = std::string(error)});
}

Status Capture::CheckPayload(std::string_view payload) {
  if (payload.size() <= max_payload_bytes_) return Status::Ok();
  refused_oversize_.fetch_add(1, std::memory_order_relaxed);
  return ResourceExhausted("payload of " + std::to_string(payload.size()) +
                           " bytes exceeds the journal's maximum of " +
                           std::to_string(max_payload_bytes_) +
                           " bytes (max_payload_bytes); the message was not recorded");
}

void Capture::FillNewMessage(Message& m) {
  const int64_t now = NowUs();
  m.id = ids_.Next(now / 1000);
  m.recorded_at_us = now;
  if (m.correlation_id.empty()) m.correlation_id = m.id;
}

Message Capture::NewMessage(Direction direction, std::string_view channel, std::string_view key,
                            std::string_view payload, DeliverOptions options) {
  Message m;
  m.direction = direction;
  m.channel = channel;
  m.key = key;
  m.payload = payload;
  m.headers = std::move(options.headers);
  m.content_type = options.content_type.empty() ? GuessContentType(payload) : options.content_type;
  m.correlation_id = std::move(options.correlation_id);
  m.causation_id = std::move(options.causation_id);
  FillNewMessage(m);
  return m;
}

}  // namespace reprise
