// The Reprise agent: the library a service embeds.
//
//   auto agent = reprise::Agent::Start({.service = "ledger",
//                                       .journal = "sqlite:ledger.journal"});
//   (*agent)->Handle("payments.received", [&](const reprise::Message& in, reprise::Context& ctx) {
//     ctx.Emit("balance.updated", in.key, Render(balance));
//     return reprise::Status::Ok();
//   });
//   (*agent)->Send("balance.updated", [&](const reprise::Message& out) { return Post(out); });
//   (*agent)->Deliver("payments.received", "account:42", payload);
//
// The agent journals every message that enters or leaves the process and
// serves the Reprise gRPC API. Thread-safe: register handlers and senders
// before traffic starts; Deliver and Record* may be called from any thread.
// Nothing the agent does, and nothing a handler or sender throws, takes the
// host process down: failures become `failed` records and Status values.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reprise/agent/knob.h"
#include "reprise/agent/log.h"
#include "reprise/base/export.h"
#include "reprise/base/histogram.h"
#include "reprise/base/status.h"
#include "reprise/store/message.h"

namespace reprise {

// How far a record has gone when the call that records it returns
// (docs/operations.md#durability-modes):
//   kAsync    queued: a crash loses at most what is still queued
//   kProcess  in the intent log (or committed to the journal): survives kill -9
//   kPower    committed and fsynced: survives power loss
enum class Durability { kAsync, kProcess, kPower };
// When the journal falls behind and the recording queue is full: kBlock
// waits for room, kDrop refuses the record (RESOURCE_EXHAUSTED) and counts it.
enum class OverloadPolicy { kBlock, kDrop };

// "async", "process", "power"; "block", "drop": as flags and Describe spell them.
REPRISE_EXPORT std::string_view DurabilityName(Durability d);
REPRISE_EXPORT std::optional<Durability> ParseDurability(std::string_view s);
REPRISE_EXPORT std::string_view OverloadPolicyName(OverloadPolicy p);
REPRISE_EXPORT std::optional<OverloadPolicy> ParseOverloadPolicy(std::string_view s);

struct AgentOptions {
  // Instances of one service share its jobs in a fleet (docs/fleet.md).
  std::string service;   // default: the program's name
  std::string instance;  // default: host:pid
  std::string journal = "sqlite:reprise.journal";
  // gRPC listen address; "" disables the API server (tests, tools).
  // Port 0 picks a free port: see Agent::listen_address().
  std::string listen = "127.0.0.1:7070";
  // Security: docs/security.md. With tls_cert and tls_key (PEM files) the
  // API is served over TLS; with tls_client_ca as well, only clients with a
  // certificate signed by that CA can connect (mutual TLS).
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Bearer tokens: a file of "NAME ROLE sha256:HEX" lines (`reprise token
  // new NAME ROLE` makes one). When set, every API call needs one of its
  // tokens, and viewer tokens may only call the API's READ methods.
  std::string token_file;
  // Viewer tokens see messages' metadata only: payloads are withheld.
  bool redact_payloads_for_viewers = false;
  // Listening anywhere but loopback without TLS and tokens is refused unless
  // this is set (a trusted network, or TLS terminated in front of the agent).
  bool insecure = false;
  // Limits: docs/operations.md#limits. Mutating API calls per caller (token
  // name, else certificate, else address) per minute; 0: no limit.
  uint32_t mutating_calls_per_minute = 120;
  size_t max_request_bytes = 4u << 20;  // an API request's encoded size
  uint32_t max_page_size = 1000;        // longer pages are cut (at most kMaxPageSize)
  size_t max_filter_length = 4096;      // characters (at most kMaxFilterLength)
  size_t max_running_jobs = 4;          // reflow, re-derive and migration jobs at once
  Durability durability = Durability::kAsync;
  OverloadPolicy overload = OverloadPolicy::kBlock;
  size_t max_queue_bytes = 64u << 20;
  // `process` durability's intent log (docs/architecture.md#durability-modes),
  // a file on local disk: default "<journal file>.intent" for a SQLite
  // journal, "/var/tmp/reprise-<service>.intent" for PostgreSQL; "none":
  // no log, and each call waits for its commit.
  std::string intent_log;
  size_t max_payload_bytes = 4u << 20;  // larger payloads are refused and counted
  // Reflow jobs left unfinished by a previous process resume this long after
  // Start (time for the host to register handlers), or at ResumeJobs().
  std::chrono::milliseconds resume_jobs_after{2000};
  // The fleet (docs/fleet.md): the instance registers in the journal and
  // heartbeats every `heartbeat_every`, which is also how often it joins
  // jobs that other instances of its service started; an instance silent for
  // `gone_after` is marked gone. Job items it claims are its own for `lease`
  // (renewed while it works): the items of a dead instance are claimed again
  // when it is marked gone or its lease runs out, whichever comes first.
  std::chrono::milliseconds heartbeat_every{1000};
  std::chrono::milliseconds gone_after{5000};
  std::chrono::milliseconds lease{10000};
  // Retention (docs/operations.md#retention): messages recorded more than
  // `retain_for` ago are removed (0: none by age), and the oldest ones while
  // the journal takes more than `retain_bytes` (0: no bound), at most
  // `retention_step` messages per write transaction, a run every
  // `retention_every`. A run waits while a job is unfinished (it may need
  // them). Flows, jobs and the audit trail are not messages: they stay.
  std::chrono::seconds retain_for{30 * 24 * 3600};
  uint64_t retain_bytes = 0;
  std::chrono::milliseconds retention_every{60000};
  size_t retention_step = 500;
  // Prometheus metrics (docs/operations.md#metrics) over plain HTTP at
  // /metrics: "HOST:PORT", or "PORT" for loopback; port 0 picks a free one
  // (Agent::metrics_address()). "" (the default): not served.
  std::string metrics_listen;
  // The log (reprise/agent/log.h): events at or above `log_level` go to
  // `log_sink`, or as lines to stderr when it is empty.
  LogLevel log_level = LogLevel::kInfo;
  LogSink log_sink;
};

// What a handler sees besides the message: where to put what it produces.
class REPRISE_EXPORT Context {
 public:
  virtual ~Context() = default;
  // The message being handled.
  virtual const Message& message() const = 0;
  // Records an outbound message caused by the one being handled (causation =
  // its id, same correlation) and, once the handler returns OK or not, sends
  // it through the channel's sender.
  virtual void Emit(std::string_view channel, std::string_view key, std::string_view payload,
                    Headers headers = {}, std::string_view content_type = "") = 0;
  // The variant of flow `name` (declared with Agent::Flow) for this message's
  // key: its assignment, else the rollout, else the default; see
  // docs/flows.md. The variant used is recorded on the message. "" when the
  // flow is not declared. Not pure: contexts without flows (replay) keep working.
  virtual std::string Flow(std::string_view name) {
    (void)name;
    return "";
  }
};

using Handler = std::function<Status(const Message& in, Context& ctx)>;

// A key's inbound messages, oldest first, streamed from the journal page by
// page (a key with millions of messages need not fit in memory). Original
// messages only: reflowed copies replay the same inputs.
class REPRISE_EXPORT Inputs {
 public:
  virtual ~Inputs() = default;
  // The next message, with its payload; false at the end or on an error
  // (then status() says which).
  virtual bool Next(Message* out) = 0;
  virtual const Status& status() const = 0;
};

// Computes a key's output from first principles: from all of its inputs.
// ctx.message() describes the derivation (key, job) and ctx.Flow() resolves
// flows for the key; Emit is not for derivers (the result is the output).
using Deriver = std::function<StatusOr<std::string>(std::string_view key, Inputs& inputs,
                                                    Context& ctx)>;
using Sender = std::function<Status(const Message& out)>;

struct DeliverOptions {
  Headers headers;
  std::string content_type;  // e.g. "application/json"; guessed when empty
  std::string correlation_id;  // default: the new message's own id
  std::string causation_id;
  // For transports (docs/transports.md#redeliveries). The transport's own id
  // of the delivery (an AMQP message_id), recorded as the header
  // kTransportIdHeader. When the journal already holds that id for the
  // channel, the delivery is recorded as a further attempt of the first one
  // (attempt n+1, origin = the first); when an earlier attempt was handled
  // ok, it is recorded `skipped` and the handler does not run again.
  std::string transport_id;
  // The transport says it may have delivered this before (AMQP's
  // `redelivered` flag): recorded as the header reprise-redelivery.
  bool redelivered = false;
};

struct DeliverResult {
  std::string id;  // id of the recorded inbound message
  Status status;   // what the handler returned (or the exception it threw)
  // False when the handler did not run: the payload was refused (no id), or
  // in process and power durability the inbound record could not be
  // committed first (it stays queued); `status` says why. A transport tells
  // "retry later" from "the handler failed" by it.
  bool handled = false;
};

// How recording into the journal goes.
struct REPRISE_EXPORT RecordingStats {
  uint64_t recorded = 0;       // accepted onto the queue
  uint64_t committed = 0;      // written to the journal
  uint64_t dropped = 0;        // refused by the drop policy
  uint64_t failed_writes = 0;  // group commits the journal refused (retried)
  uint64_t rejected = 0;       // records the journal refused for good (counted, logged)
  uint64_t batches = 0;        // group commits
  size_t queued = 0;           // records waiting, including the batch being written
  size_t queued_bytes = 0;     // their serialized size
  size_t held_bytes = 0;       // queue memory held: within max_queue_bytes, but for one
                               // record larger than the bound
  // Health. A fault is a run of failed writes; it clears at the next write
  // that succeeds. Times are zero (the epoch) when they never happened.
  std::string last_error;  // the current fault's latest error, "" when healthy
  std::chrono::system_clock::time_point failing_since{};  // when the current fault began
  std::string last_fault;  // the latest write error, kept after the fault clears
  std::chrono::system_clock::time_point last_fault_at{};
  std::chrono::system_clock::time_point recovered_at{};  // when the last fault cleared
  bool healthy() const { return last_error.empty(); }
  LatencyHistogram commit_latency;  // group commits' journal writes that succeeded
};

// What a transport (an AMQP binding, an HTTP endpoint) shows operators in
// Describe and the console's `status` (Agent::AddTransport).
struct TransportStatus {
  std::string name;      // as registered
  std::string kind;      // "amqp", "http"
  std::string endpoint;  // where, without credentials ("amqp://127.0.0.1:5672/ queue payments")
  std::string channel;   // the agent's channel it feeds or sends ("" for several)
  bool connected = false;
  std::string last_error;  // the latest error, kept after a recovery; "" when none
  // Named counters ("delivered", "acked", "unacked", "redeliveries", ...).
  std::vector<std::pair<std::string, uint64_t>> counters;
};

// What retention did (AgentOptions.retain_*).
struct RetentionStats {
  uint64_t removed = 0;       // messages removed since start
  int64_t last_run_us = 0;    // when the last run ended; 0: none yet
  uint64_t last_removed = 0;  // messages that run removed
  int64_t last_removal_us = 0;  // when a run last removed messages; 0: none since start
  std::string waiting_for;    // why the last run removed nothing on purpose ("job 17 is unfinished")
  std::string last_error;     // the last run's error, "" when it went well
  int64_t oldest_us = 0;      // the journal's oldest message after the last run; 0: none
  uint64_t journal_bytes = 0;  // space the journal takes, after the last run
};

// Counters for Describe and monitoring.
struct AgentStats {
  RecordingStats recording;
  uint64_t refused_oversize = 0;
  RetentionStats retention;
  // The fleet registry: this instance's last heartbeat that the journal
  // took (0: none yet), and the last error of registering or heartbeating.
  int64_t last_heartbeat_us = 0;
  std::string heartbeat_error;
  std::vector<TransportStatus> transports;  // by name
};

class REPRISE_EXPORT Agent {
 public:
  // Opens the journal, starts the recorder and the gRPC server.
  static StatusOr<std::unique_ptr<Agent>> Start(AgentOptions options);
  virtual ~Agent() = default;  // stops the server, drains the journal queue

  // Registers the handler for inbound messages of `channel` (replaces any).
  virtual void Handle(std::string_view channel, Handler handler) = 0;
  // Registers the sender for outbound messages of `channel` (replaces any).
  virtual void Send(std::string_view channel, Sender sender) = 0;
  // Registers a deriver: `Rederive` runs it for keys and compares its result
  // with the last message recorded on `output_channel` for each key; a
  // changed output is recorded there and sent through that channel's sender.
  virtual void Derive(std::string_view name, std::string_view output_channel, Deriver fn) = 0;
  // Registers a knob (replaces any of the same name). See knob.h.
  virtual void Knob(std::string_view name, std::string_view help, std::vector<KnobArg> args,
                    KnobFn fn, KnobOptions options = {}) = 0;
  // Declares a flow: its variants and the default for keys nobody chose a
  // variant for. Operators' choices (default, assignments, rollout) live in
  // the journal and survive restarts; declaring again only refreshes the
  // variant list. Changes reach this process without a restart.
  virtual Status Flow(std::string_view name, std::vector<std::string> variants,
                      std::string_view default_variant) = 0;

  // The integrated style: records the inbound message, runs its handler,
  // records the outcome and every emitted message, then sends those through
  // their senders and records how that went. Returns the handler's status.
  // A channel with no handler is recorded as `skipped`.
  virtual DeliverResult Deliver(std::string_view channel, std::string_view key,
                                std::string_view payload, DeliverOptions options = {}) = 0;

  // The explicit style, for services whose dispatch the agent cannot wrap.
  // Each returns the new record's id. Outcome starts `pending`.
  virtual StatusOr<std::string> RecordInbound(std::string_view channel, std::string_view key,
                                              std::string_view payload,
                                              DeliverOptions options = {}) = 0;
  virtual StatusOr<std::string> RecordOutbound(std::string_view channel, std::string_view key,
                                               std::string_view payload,
                                               DeliverOptions options = {}) = 0;
  // Reports how handling or sending of a recorded message ended.
  virtual Status RecordOutcome(std::string_view id, Outcome outcome,
                               std::string_view error = "") = 0;

  // Waits until everything recorded so far is committed to the journal.
  virtual Status Flush() = 0;

  // Positions in the journal's commit order, for transports that acknowledge
  // a delivery only once its records are in the journal, in every durability
  // mode (docs/embedding.md#acknowledging-after-the-commit). Every record made
  // before RecordedMark() returns is at or below it; once CommittedMark() >= m,
  // each of them is committed (or refused by the journal for good).
  virtual uint64_t RecordedMark() const = 0;
  virtual uint64_t CommittedMark() const = 0;
  // Waits until CommittedMark() >= mark: false when `timeout` passed first,
  // or the agent stopped without reaching it.
  virtual bool WaitCommitted(uint64_t mark, std::chrono::milliseconds timeout) const = 0;

  // Registers a transport under `name` (replaces any) so that operators see
  // it in Describe and `status`: `status` is called on the API's threads
  // whenever stats are read, so it must be thread-safe, quick and never
  // block. Call RemoveTransport(name) before what `status` reads goes away.
  virtual void AddTransport(std::string_view name, std::function<TransportStatus()> status) = 0;
  virtual void RemoveTransport(std::string_view name) = 0;

  // Resumes the reflow jobs a previous process left unfinished. Call it once
  // the handlers and senders are registered; otherwise it happens by itself
  // `resume_jobs_after` after Start. Later calls do nothing.
  virtual Status ResumeJobs() = 0;

  // The address the API server listens on ("" when disabled).
  virtual std::string listen_address() const = 0;
  // The address /metrics is served on ("" without metrics_listen).
  virtual std::string metrics_address() const = 0;
  virtual AgentStats Stats() const = 0;
};

}  // namespace reprise
