#include "reprise/agent/agent.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <errno.h>

#include "agent_core.h"
#include "api_service.h"
#include "audit_interceptor.h"
#include "diff.h"
#include "handler_context.h"
#include "flows.h"
#include "reprise/store/change_feed.h"
#include "reprise/store/instance.h"
#include "gatekeeper.h"
#include "server_security.h"
#include "reprise/store/filter.h"
#include "reprise/base/ulid.h"

namespace reprise {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Runs host code and turns whatever it does, including throwing, into a Status.
template <typename Fn>
Status Contain(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Unknown(std::string(what) + " threw: " + e.what());
  } catch (...) {
    return Unknown(std::string(what) + " threw a non-standard exception");
  }
}

// "..." with \ and " escaped, for building a filter around a value.
std::string FilterString(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// A key's original inbound messages, oldest first, one journal page at a time.
class JournalInputs final : public Inputs {
 public:
  JournalInputs(Journal& journal, std::string_view key)
      : journal_(journal),
        query_{.filter = "key = " + FilterString(key) + " and direction = in",
               .page_size = 500,
               .with_payload = true,
               .oldest_first = true,
               .originals_only = true} {}

  bool Next(Message* out) override {
    while (next_ == page_.size()) {
      if (done_ || !status_.ok()) return false;
      auto page = journal_.List(query_);
      if (!page.ok()) {
        status_ = page.status().WithPrefix("reading the key's inputs");
        return false;
      }
      page_ = std::move(page->messages);
      next_ = 0;
      query_.page_token = page->next_page_token;
      done_ = query_.page_token.empty();
    }
    *out = std::move(page_[next_++]);
    return true;
  }
  const Status& status() const override { return status_; }

 private:
  Journal& journal_;
  ListQuery query_;
  std::vector<Message> page_;
  size_t next_ = 0;
  bool done_ = false;
  Status status_;
};

// Flows resolve from the agent's registry, for the handled message's key.
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

class AgentImpl final : public Agent, public AgentCore, public Dispatcher {
 public:
  AgentImpl(AgentOptions options, std::unique_ptr<Journal> journal)
      : options_(std::move(options)),
        instance_(InstanceName(options_)),
        journal_(std::move(journal)),
        recorder_(journal_.get(), {.durability = options_.durability,
                                   .overload = options_.overload,
                                   .max_queue_bytes = options_.max_queue_bytes}),
        engine_(std::make_unique<ReflowEngine>(
            journal_.get(), this,
            EngineOptions{.instance = instance_,
                          .service = options_.service,
                          .max_running_jobs = options_.max_running_jobs,
                          .lease = options_.lease})),
        flows_(std::make_unique<FlowRegistry>(&journal_->flows(), std::chrono::milliseconds(500))),
        started_at_(std::chrono::system_clock::now()) {
    // Jobs a previous process left unfinished resume once the host has had
    // time to register its handlers, or at once when it calls ResumeJobs().
    resume_thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(resume_mu_);
      resume_cv_.wait_for(lock, options_.resume_jobs_after, [this] { return closing_; });
      bool closing = closing_;
      lock.unlock();
      if (!closing) (void)ResumeJobs();
    });
    // PostgreSQL: flow changes and job cancels made by other instances
    // arrive at once; the polls stay as the fallback (docs/fleet.md).
    changes_ = journal_->NewChangeFeed();
    if (changes_) {
      changes_->Start([this](ChangeTopic topic) {
        if (topic == ChangeTopic::kFlows) flows_->Poke();
        else engine_->Poke();
      });
    }
  }

  ~AgentImpl() override {
    changes_.reset();  // its callback uses engine_ and flows_
    {
      std::lock_guard<std::mutex> lock(resume_mu_);
      closing_ = true;
    }
    resume_cv_.notify_all();
    resume_thread_.join();
    if (fleet_thread_.joinable()) fleet_thread_.join();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    // Running jobs stop (resumable) while handlers, senders and the recorder
    // they use still exist; the recorder then drains into the journal.
    engine_.reset();
    if (registered_) (void)journal_->instances().MarkGone(instance_, "stopped");
  }

  // Registers this instance in the fleet's registry and starts heartbeating.
  void JoinFleet() {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    record_ = {.id = instance_,
               .service = options_.service,
               .host = host,
               .pid = getpid(),
               .address = listen_address_,
               .agent_version = kVersion,
               .api_version = "reprise.v1",
               .started_at_us = NowUs()};
    Register();
    registered_ = true;
    fleet_thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(resume_mu_);
      while (!resume_cv_.wait_for(lock, options_.heartbeat_every, [this] { return closing_; })) {
        lock.unlock();
        Heartbeat();
        lock.lock();
      }
    });
  }

  void Register() {
    Status st = journal_->instances().Register(record_);
    std::lock_guard<std::mutex> lock(fleet_mu_);
    if (st.ok()) last_heartbeat_us_ = NowUs();
    heartbeat_error_ = st.ok() ? "" : st.ToString();
  }

  void Heartbeat() {
    Status st = journal_->instances().Heartbeat(instance_);
    if (st.code() == StatusCode::kNotFound) return Register();  // the registry was reset
    if (st.ok()) {
      // Whoever heartbeats also retires the silent: their job items are
      // then claimed again without waiting for their leases.
      auto expired = journal_->instances().ExpireStale(options_.gone_after);
      if (!expired.ok()) st = expired.status();
    }
    {
      std::lock_guard<std::mutex> lock(fleet_mu_);
      if (st.ok()) last_heartbeat_us_ = NowUs();
      heartbeat_error_ = st.ok() ? "" : st.ToString();
    }
    // Jobs other instances of the service started (or that dead ones left) join here.
    if (jobs_resumed_) (void)engine_->ResumeUnfinished();
  }

  static std::string InstanceName(const AgentOptions& options) {
    if (!options.instance.empty()) return options.instance;
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(getpid());
  }

  Status ResumeJobs() override {
    Status result;
    std::call_once(resumed_, [&] {
      auto n = engine_->ResumeUnfinished();
      jobs_resumed_ = true;
      if (!n.ok()) {
        result = n.status().WithPrefix("resuming unfinished jobs");
        std::fprintf(stderr, "reprise: %s\n", result.ToString().c_str());
      } else if (*n > 0) {
        std::fprintf(stderr, "reprise: resumed %zu unfinished job(s)\n", *n);
      }
    });
    return result;
  }

  Status StartServer() {
    if (options_.listen.empty()) return Status::Ok();
    REPRISE_ASSIGN_OR_RETURN(auto credentials, ServerCredentialsFor(options_));
    Gatekeeper::Options access{.mutating_calls_per_minute = options_.mutating_calls_per_minute};
    if (!options_.token_file.empty()) {
      REPRISE_ASSIGN_OR_RETURN(auto tokens, LoadTokenFile(options_.token_file));
      access.tokens = std::move(tokens);
    }
    gatekeeper_ = std::make_unique<Gatekeeper>(std::move(access));
    service_ = std::make_unique<ApiService>(this, gatekeeper_.get());
    grpc::EnableDefaultHealthCheckService(true);
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(options_.listen, credentials, &port);
    builder.RegisterService(service_.get());
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<size_t>(options_.max_request_bytes, INT32_MAX)));
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(
        std::make_unique<AuditInterceptorFactory>(&journal_->audit(), gatekeeper_.get(), instance_));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    server_ = builder.BuildAndStart();
    if (!server_ || port == 0) {
      return Unavailable("cannot listen on " + options_.listen +
                         ": address in use or not valid; pick another with listen/--listen");
    }
    // Health by service name too, so that probes can ask for "reprise.v1.Agent".
    if (auto* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(v1::Agent::service_full_name(), true);
    }
    std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
    listen_address_ = host + ":" + std::to_string(port);
    return Status::Ok();
  }

  // Agent -----------------------------------------------------------------
  void Handle(std::string_view channel, Handler handler) override {
    std::unique_lock lock(registry_mu_);
    handlers_[std::string(channel)] = std::move(handler);
  }

  void Send(std::string_view channel, Sender sender) override {
    std::unique_lock lock(registry_mu_);
    senders_[std::string(channel)] = std::move(sender);
  }

  void Derive(std::string_view name, std::string_view output_channel, Deriver fn) override {
    std::unique_lock lock(registry_mu_);
    derivers_[std::string(name)] = {std::string(output_channel), std::move(fn)};
  }

  StatusOr<RederiveOutcome> RederiveKey(std::string_view name, const std::string& key,
                                        bool dry_run, const std::string& job_id) override {
    std::string output_channel;
    Deriver deriver;
    {
      std::shared_lock lock(registry_mu_);
      auto it = derivers_.find(name);
      if (it == derivers_.end()) {
        std::string names;
        for (const auto& [n, d] : derivers_) names += (names.empty() ? "" : ", ") + n;
        return NotFound("no deriver named \"" + std::string(name) + "\"; registered: " +
                        (names.empty() ? "none" : names));
      }
      output_channel = it->second.first;
      deriver = it->second.second;
    }
    RederiveOutcome result{.key = key};
    // The last output recorded for the key: what the new one is compared with.
    Message last;
    REPRISE_ASSIGN_OR_RETURN(auto page, journal_->List({.filter = "key = " + FilterString(key) + " and channel = " +
                                          FilterString(output_channel) + " and direction = out",
                                .page_size = 1,
                                .with_payload = true}));
    if (!page.messages.empty()) last = std::move(page.messages.front());
    result.before = last.payload;

    Message about;  // what ctx.message() shows a deriver
    about.direction = Direction::kOut;
    about.channel = output_channel;
    about.key = key;
    std::vector<Message> ignored;
    DeliveryContext ctx(about, &ignored, flows_.get());
    JournalInputs inputs(*journal_, key);
    StatusOr<std::string> out = std::string();
    Status st = Contain("deriver " + std::string(name), [&] {
      out = deriver(key, inputs, ctx);
      return out.ok() ? inputs.status() : out.status();
    });
    if (!st.ok()) {
      result.kind = RederiveOutcome::Kind::kFailed;
      result.error = st.message();
      return result;
    }
    if (Status size = CheckPayload(*out); !size.ok()) {
      result.kind = RederiveOutcome::Kind::kFailed;
      result.error = "deriver " + std::string(name) + " returned an output too large to record: " +
                     size.message();
      return result;
    }
    result.after = *out;
    result.diff = DiffOutputs(last.payload, result.after);
    if (!last.id.empty() && last.payload == result.after) {
      // This very job recorded that output before an instance died with the
      // key in flight: the key changed, and its output is already there.
      if (!job_id.empty() && last.job_id == job_id) {
        result.kind = RederiveOutcome::Kind::kChanged;
        result.output_id = last.id;
      }
      return result;
    }
    result.kind = RederiveOutcome::Kind::kChanged;
    if (last.id.empty()) result.diff = DiffOutputs("", result.after);
    if (dry_run) return result;

    Message m = NewMessage(Direction::kOut, output_channel, key, result.after,
                           {.headers = {{"reprise-rederive", std::string(name)}},
                            .correlation_id = last.correlation_id});
    if (!last.id.empty()) m.headers["reprise-supersedes"] = last.id;
    m.job_id = job_id;
    m.flow_variant = ctx.FlowVariant();
    result.output_id = m.id;
    if (Status rec = recorder_.Record(m); !rec.ok() && Synchronous()) {
      return rec.WithPrefix("the changed output could not be recorded");
    }
    (void)recorder_.RecordOutcome(SendOne(m));
    return result;
  }

  void Knob(std::string_view name, std::string_view help, std::vector<KnobArg> args, KnobFn fn,
            KnobOptions options) override {
    knobs_.Register({std::string(name), std::string(help), std::move(args), options}, std::move(fn));
  }

  Status Flow(std::string_view name, std::vector<std::string> variants,
              std::string_view default_variant) override {
    return flows_->Declare(name, variants, default_variant);
  }

  DeliverResult Deliver(std::string_view channel, std::string_view key, std::string_view payload,
                        DeliverOptions options) override {
    DeliverResult result;
    if (Status st = CheckPayload(payload); !st.ok()) {
      result.status = st;
      return result;
    }
    Message in = NewMessage(Direction::kIn, channel, key, payload, std::move(options));
    result.id = in.id;
    result.status = Handle(in).status;
    return result;
  }

  // Dispatcher (reflow and re-derive jobs) -----------------------------------
  DispatchResult Rederive(const std::string& deriver, const std::string& key,
                          const std::string& job_id, bool dry_run) override {
    auto r = RederiveKey(deriver, key, dry_run, job_id);
    if (!r.ok()) return {"", Outcome::kFailed, r.status().message()};
    if (r->kind == RederiveOutcome::Kind::kFailed) return {"", Outcome::kFailed, r->error};
    return {r->output_id, Outcome::kOk, "", r->kind == RederiveOutcome::Kind::kChanged};
  }

  DispatchResult Redeliver(const Message& original, ReflowTarget target, const std::string& job_id,
                           bool redelivery) override {
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
    if (Status st = recorder_.Record(copy); !st.ok() && Synchronous()) {
      return {"", Outcome::kFailed, st.WithPrefix("not sent: the copy could not be recorded").message()};
    }
    OutcomeUpdate sent = SendOne(copy);
    DispatchResult result{copy.id, sent.outcome, sent.error};
    (void)recorder_.RecordOutcome(std::move(sent));
    return result;
  }

  StatusOr<std::string> RecordInbound(std::string_view channel, std::string_view key,
                                      std::string_view payload, DeliverOptions options) override {
    return RecordNew(Direction::kIn, channel, key, payload, options);
  }

  StatusOr<std::string> RecordOutbound(std::string_view channel, std::string_view key,
                                       std::string_view payload, DeliverOptions options) override {
    return RecordNew(Direction::kOut, channel, key, payload, options);
  }

  Status RecordOutcome(std::string_view id, Outcome outcome, std::string_view error) override {
    if (!IsUlid(id)) return InvalidArgument("\"" + std::string(id) + "\" is not a message id");
    return recorder_.RecordOutcome({.id = std::string(id), .outcome = outcome, .error = std::string(error)});
  }

  Status Flush() override { return recorder_.Flush(); }  // Agent and Dispatcher

  std::string listen_address() const override { return listen_address_; }

  AgentStats Stats() const override {
    AgentStats s;
    s.recorder = recorder_.Stats();
    s.refused_oversize = refused_oversize_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(fleet_mu_);
    s.last_heartbeat_us = last_heartbeat_us_;
    s.heartbeat_error = heartbeat_error_;
    return s;
  }

  // AgentCore ---------------------------------------------------------------
  const AgentOptions& options() const override { return options_; }
  const std::string& instance() const override { return instance_; }
  Journal& journal() override { return *journal_; }
  ReflowEngine& reflow() override { return *engine_; }
  const KnobRegistry& knobs() const override { return knobs_; }
  FlowRegistry& flows() override { return *flows_; }
  std::vector<std::string> HandlerChannels() const override { return Keys(handlers_); }
  std::vector<std::string> SenderChannels() const override { return Keys(senders_); }
  std::vector<std::string> DeriverNames() const override { return Keys(derivers_); }
  std::chrono::system_clock::time_point started_at() const override { return started_at_; }

 private:
  template <typename Map>
  std::vector<std::string> Keys(const Map& m) const {
    std::shared_lock lock(registry_mu_);
    std::vector<std::string> out;
    for (const auto& [k, v] : m) out.push_back(k);
    return out;
  }

  Handler FindHandler(const std::string& channel) const {
    std::shared_lock lock(registry_mu_);
    auto it = handlers_.find(channel);
    return it == handlers_.end() ? Handler() : it->second;
  }

  Sender FindSender(const std::string& channel) const {
    std::shared_lock lock(registry_mu_);
    auto it = senders_.find(channel);
    return it == senders_.end() ? Sender() : it->second;
  }

  bool Synchronous() const { return options_.durability != Durability::kAsync; }

  struct HandleResult {
    Status status;  // the handler's
    Outcome outcome = Outcome::kOk;
    std::string error;  // as recorded
  };

  // Records `in`, runs its channel's handler, records the outcome and what
  // the handler emitted, then sends those through their senders.
  HandleResult Handle(const Message& in) {
    // Write-ahead: in process/power durability the inbound record is committed
    // before the handler runs, so a crash during handling still leaves it to replay.
    if (Status st = recorder_.Record(in); !st.ok() && Synchronous()) {
      Status err = st.WithPrefix("not handled: the inbound message could not be recorded");
      return {err, Outcome::kFailed, err.message()};
    }
    Handler handler = FindHandler(in.channel);
    std::vector<Message> emitted;
    HandleResult result;
    OutcomeUpdate in_outcome{.id = in.id};
    if (!handler) {
      in_outcome.outcome = Outcome::kSkipped;
      in_outcome.error = "no handler registered for channel " + in.channel;
    } else {
      DeliveryContext ctx(in, &emitted, flows_.get());
      result.status = Contain("handler for " + in.channel, [&] { return handler(in, ctx); });
      in_outcome.flow_variant = ctx.FlowVariant();
      in_outcome.outcome = result.status.ok() ? Outcome::kOk : Outcome::kFailed;
      in_outcome.error = result.status.ok() ? "" : result.status.message();
    }
    result.outcome = in_outcome.outcome;
    result.error = in_outcome.error;
    WriteBatch after;
    for (Message& out : emitted) {
      FillNewMessage(out);
      if (!result.status.ok()) {
        // What a failed handler emitted is kept as evidence but not sent.
        out.outcome = Outcome::kSkipped;
        out.error = "not sent: the handler failed";
      }
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

  Status CheckPayload(std::string_view payload) {
    if (payload.size() <= options_.max_payload_bytes) return Status::Ok();
    refused_oversize_.fetch_add(1, std::memory_order_relaxed);
    return ResourceExhausted("payload of " + std::to_string(payload.size()) +
                             " bytes exceeds the journal's maximum of " +
                             std::to_string(options_.max_payload_bytes) +
                             " bytes (max_payload_bytes); the message was not recorded");
  }

  void FillNewMessage(Message& m) {
    const int64_t now = NowUs();
    m.id = ids_.Next(now / 1000);
    m.recorded_at_us = now;
    if (m.correlation_id.empty()) m.correlation_id = m.id;
  }

  Message NewMessage(Direction direction, std::string_view channel, std::string_view key,
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

  // The host's thread: no Message is built; the recorder copies the fields
  // straight into its queue. The id is the one allocation (it is returned).
  StatusOr<std::string> RecordNew(Direction direction, std::string_view channel,
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
    return id;
  }

  OutcomeUpdate SendOne(const Message& out) {
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
    return o;
  }

  const AgentOptions options_;
  const std::string instance_;
  std::unique_ptr<Journal> journal_;
  Recorder recorder_;  // after journal_: destroyed (drained) first
  std::unique_ptr<ReflowEngine> engine_;  // stopped first, in ~AgentImpl
  std::unique_ptr<FlowRegistry> flows_;   // polls journal_; destroyed before it
  std::unique_ptr<ChangeFeed> changes_;   // null on SQLite; stopped first in ~AgentImpl
  UlidGenerator ids_;
  const std::chrono::system_clock::time_point started_at_;
  std::atomic<uint64_t> refused_oversize_{0};

  mutable std::shared_mutex registry_mu_;
  std::map<std::string, Handler, std::less<>> handlers_;  // guarded by registry_mu_
  std::map<std::string, Sender, std::less<>> senders_;    // guarded by registry_mu_
  // name -> (output channel, deriver); guarded by registry_mu_
  std::map<std::string, std::pair<std::string, Deriver>, std::less<>> derivers_;
  KnobRegistry knobs_;

  std::mutex resume_mu_;
  std::condition_variable resume_cv_;
  bool closing_ = false;  // guarded by resume_mu_
  std::once_flag resumed_;
  std::atomic<bool> jobs_resumed_{false};
  std::thread resume_thread_;

  InstanceRecord record_;
  bool registered_ = false;
  std::thread fleet_thread_;  // heartbeats; stops with closing_
  mutable std::mutex fleet_mu_;
  int64_t last_heartbeat_us_ = 0;  // guarded by fleet_mu_
  std::string heartbeat_error_;    // guarded by fleet_mu_

  std::unique_ptr<Gatekeeper> gatekeeper_;  // used by service_ and server_'s interceptors
  std::unique_ptr<ApiService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string listen_address_;
};

}  // namespace

StatusOr<std::unique_ptr<Agent>> Agent::Start(AgentOptions options) {
  if (options.service.empty()) options.service = program_invocation_short_name;
  if (options.service.empty()) return InvalidArgument("AgentOptions.service is empty; name the service");
  if (options.max_page_size == 0 || options.max_page_size > kMaxPageSize) {
    return InvalidArgument("AgentOptions.max_page_size must be 1.." + std::to_string(kMaxPageSize));
  }
  if (options.max_filter_length == 0 || options.max_filter_length > filter::kMaxFilterLength) {
    return InvalidArgument("AgentOptions.max_filter_length must be 1.." +
                           std::to_string(filter::kMaxFilterLength));
  }
  if (options.max_running_jobs == 0 || options.max_request_bytes < 1024) {
    return InvalidArgument(
        "AgentOptions.max_running_jobs must be at least 1 and max_request_bytes at least 1024");
  }
  auto journal = Journal::Open(options.journal);
  if (!journal.ok()) return journal.status().WithPrefix("opening journal " + options.journal);
  auto agent = std::make_unique<AgentImpl>(std::move(options), std::move(*journal));
  REPRISE_RETURN_IF_ERROR(agent->StartServer());
  agent->JoinFleet();
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace reprise
