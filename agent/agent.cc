#include "reprise/agent/agent.h"

#include <unistd.h>

#include <errno.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "agent_core.h"
#include "api_server.h"
#include "capture.h"
#include "fleet_membership.h"
#include "flows.h"
#include "jobs.h"
#include "journal_watch.h"
#include "knobs.h"
#include "metrics.h"
#include "metrics_server.h"
#include "rederive.h"
#include "retention.h"
#include "reprise/store/change_feed.h"
#include "reprise/store/filter.h"

namespace reprise {
namespace {

// The agent a host embeds, composed of its rooms: capture (handlers, senders
// and the recorder), re-derive, flows and knobs, the jobs, the fleet
// membership and the API server. It is the Agent of the host, the AgentCore
// of the API service and the Dispatcher of the jobs, and forwards each call
// to the room that does it.
// Thread-safe, as its rooms are.
class AgentImpl final : public Agent, public AgentCore, public Dispatcher {
 public:
  AgentImpl(AgentOptions options, std::unique_ptr<Journal> journal)
      : options_(std::move(options)),
        instance_(InstanceName(options_)),
        log_(options_.log_level, options_.log_sink),
        started_at_(std::chrono::system_clock::now()),
        journal_(std::move(journal)),
        flows_(&journal_->flows(), std::chrono::milliseconds(500)),
        capture_(options_, journal_.get(), &flows_),
        rederiver_(journal_.get(), &flows_, &capture_),
        // Jobs a previous process left unfinished resume once the host has had
        // time to register its handlers, or at once when it calls ResumeJobs().
        jobs_(std::make_unique<Jobs>(journal_.get(), this,
                                     EngineOptions{.instance = instance_,
                                                   .service = options_.service,
                                                   .max_running_jobs = options_.max_running_jobs,
                                                   .lease = options_.lease,
                                                   .log = [this](const std::string& line) {
                                                     log_.Info("jobs", line);
                                                   }},
                                     options_.resume_jobs_after)) {
    // PostgreSQL: flow changes and job cancels made by other instances
    // arrive at once; the polls stay as the fallback (docs/fleet.md).
    changes_ = journal_->NewChangeFeed();
    if (changes_) {
      changes_->Start([this](ChangeTopic topic) {
        if (topic == ChangeTopic::kFlows) flows_.Poke();
        else jobs_->engine().Poke();
      });
    }
  }

  ~AgentImpl() override {
    metrics_server_.reset();  // its scrapes read every room
    retention_.reset();
    watch_.reset();    // its callback sets api_'s health
    changes_.reset();  // its callback pokes flows_ and jobs_
    jobs_->StopWaiting();
    if (membership_) membership_->StopHeartbeats();  // a heartbeat joins jobs
    if (api_) api_->Shutdown();
    // Running jobs stop (resumable) while handlers, senders and the recorder
    // they use still exist; the recorder then drains into the journal.
    jobs_.reset();
    // Gone only once its jobs stopped: other instances then claim their items.
    membership_.reset();
  }

  Status StartServer() {
    if (options_.listen.empty()) return Status::Ok();
    REPRISE_ASSIGN_OR_RETURN(api_, ApiServer::Start(this));
    return Status::Ok();
  }

  // Registers this instance in the fleet's registry and starts heartbeating.
  void JoinFleet() {
    membership_ = std::make_unique<FleetMembership>(&journal_->instances(), options_, instance_,
                                                    listen_address(),
                                                    [this] { jobs_->JoinOthers(); });
  }

  // Keeps the health service's word on the journal true from now on.
  void WatchJournal() {
    watch_ = std::make_unique<JournalWatch>([this] { return capture_.Stats(); }, &log_,
                                            [this](bool healthy) {
                                              if (api_) api_->SetServing(healthy);
                                            });
  }

  Status StartMetricsServer() {
    if (options_.metrics_listen.empty()) return Status::Ok();
    REPRISE_ASSIGN_OR_RETURN(metrics_server_,
                             MetricsServer::Start(options_.metrics_listen, [this] { return RenderMetrics(*this); }));
    log_.Info("metrics", "serving Prometheus metrics at http://" + metrics_server_->listen_address() + "/metrics");
    return Status::Ok();
  }

  // Removes old messages by the retention policy from now on.
  void StartRetention() {
    retention_ = std::make_unique<Retention>(journal_.get(), options_, &log_);
  }

  static std::string InstanceName(const AgentOptions& options) {
    if (!options.instance.empty()) return options.instance;
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(getpid());
  }

  // Agent -----------------------------------------------------------------
  void Handle(std::string_view channel, Handler handler) override {
    capture_.Handle(channel, std::move(handler));
  }
  void Send(std::string_view channel, Sender sender) override {
    capture_.Send(channel, std::move(sender));
  }
  void Derive(std::string_view name, std::string_view output_channel, Deriver fn) override {
    rederiver_.Derive(name, output_channel, std::move(fn));
  }
  void Knob(std::string_view name, std::string_view help, std::vector<KnobArg> args, KnobFn fn,
            KnobOptions options) override {
    knobs_.Register({std::string(name), std::string(help), std::move(args), options}, std::move(fn));
  }
  Status Flow(std::string_view name, std::vector<std::string> variants,
              std::string_view default_variant) override {
    return flows_.Declare(name, variants, default_variant);
  }
  DeliverResult Deliver(std::string_view channel, std::string_view key, std::string_view payload,
                        DeliverOptions options) override {
    return capture_.Deliver(channel, key, payload, std::move(options));
  }
  StatusOr<std::string> RecordInbound(std::string_view channel, std::string_view key,
                                      std::string_view payload, DeliverOptions options) override {
    return capture_.Record(Direction::kIn, channel, key, payload, options);
  }
  StatusOr<std::string> RecordOutbound(std::string_view channel, std::string_view key,
                                       std::string_view payload, DeliverOptions options) override {
    return capture_.Record(Direction::kOut, channel, key, payload, options);
  }
  Status RecordOutcome(std::string_view id, Outcome outcome, std::string_view error) override {
    return capture_.RecordOutcome(id, outcome, error);
  }
  Status Flush() override { return capture_.Flush(); }  // Agent, AgentCore and Dispatcher
  void AwaitRecorded() override { capture_.AwaitRecorded(); }
  uint64_t RecordedMark() const override { return capture_.recorder().Mark(); }
  uint64_t CommittedMark() const override { return capture_.recorder().CommittedMark(); }
  bool WaitCommitted(uint64_t mark, std::chrono::milliseconds timeout) const override {
    return capture_.recorder().WaitCommitted(mark, timeout);
  }
  void AddTransport(std::string_view name, std::function<TransportStatus()> status) override {
    std::lock_guard lock(transports_mu_);
    transports_[std::string(name)] = std::move(status);
  }
  void RemoveTransport(std::string_view name) override {
    std::lock_guard lock(transports_mu_);
    transports_.erase(std::string(name));
  }
  Status ResumeJobs() override { return jobs_->Resume(); }
  std::string listen_address() const override { return api_ ? api_->listen_address() : ""; }
  std::string metrics_address() const override {
    return metrics_server_ ? metrics_server_->listen_address() : "";
  }
  AgentStats Stats() const override {
    AgentStats s;
    s.recording = capture_.Stats();
    s.refused_oversize = capture_.refused_oversize();
    if (retention_) s.retention = retention_->Stats();
    if (membership_) membership_->Stats(&s);
    std::lock_guard lock(transports_mu_);
    for (const auto& [name, status] : transports_) {
      s.transports.push_back(status());
      s.transports.back().name = name;
    }
    return s;
  }

  // AgentCore ---------------------------------------------------------------
  const AgentOptions& options() const override { return options_; }
  const std::string& instance() const override { return instance_; }
  const Logger& log() const override { return log_; }
  const ChannelCounts& channel_counts() const override { return capture_.channel_counts(); }
  CallCounts& call_counts() override { return calls_; }
  Journal& journal() override { return *journal_; }
  ReflowEngine& reflow() override { return jobs_->engine(); }
  const KnobRegistry& knobs() const override { return knobs_; }
  FlowRegistry& flows() override { return flows_; }
  std::vector<std::string> HandlerChannels() const override { return capture_.HandlerChannels(); }
  std::vector<std::string> SenderChannels() const override { return capture_.SenderChannels(); }
  std::vector<std::string> DeriverNames() const override { return rederiver_.DeriverNames(); }
  StatusOr<RederiveOutcome> RederiveKey(std::string_view name, const std::string& key,
                                        bool dry_run, const std::string& job_id) override {
    return rederiver_.RederiveKey(name, key, dry_run, job_id);
  }
  std::chrono::system_clock::time_point started_at() const override { return started_at_; }

  // Dispatcher (reflow and re-derive jobs) -----------------------------------
  DispatchResult Redeliver(const Message& original, ReflowTarget target, const std::string& job_id,
                           bool redelivery) override {
    return capture_.Redeliver(original, target, job_id, redelivery);
  }
  DispatchResult Rederive(const std::string& deriver, const std::string& key,
                          const std::string& job_id, bool dry_run) override {
    return rederiver_.Rederive(deriver, key, job_id, dry_run);
  }

 private:
  // Built in this order and, but for what ~AgentImpl stops first, destroyed
  // in the reverse: each room outlives those that use it.
  const AgentOptions options_;
  const std::string instance_;
  const Logger log_;
  const std::chrono::system_clock::time_point started_at_;
  std::unique_ptr<Journal> journal_;
  FlowRegistry flows_;  // polls journal_
  Capture capture_;     // its recorder drains into journal_ when destroyed
  Rederiver rederiver_;
  KnobRegistry knobs_;
  CallCounts calls_;  // by the API server's interceptor
  std::unique_ptr<Jobs> jobs_;             // stopped in ~AgentImpl
  std::unique_ptr<ChangeFeed> changes_;    // null on SQLite; stopped first in ~AgentImpl
  std::unique_ptr<FleetMembership> membership_;  // from JoinFleet on
  std::unique_ptr<ApiServer> api_;         // null without `listen`
  mutable std::mutex transports_mu_;
  std::map<std::string, std::function<TransportStatus()>> transports_;  // guarded by transports_mu_
  std::unique_ptr<JournalWatch> watch_;    // from WatchJournal on; stopped first
  std::unique_ptr<Retention> retention_;   // from StartRetention on; stopped first
  std::unique_ptr<MetricsServer> metrics_server_;  // with metrics_listen; stopped before all
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
  if (options.retain_for.count() < 0 || options.retention_every.count() <= 0 ||
      options.retention_step == 0) {
    return InvalidArgument(
        "AgentOptions.retain_for must be >= 0 (0: no age limit), retention_every > 0 and "
        "retention_step at least 1");
  }
  auto journal = Journal::Open(options.journal);
  if (!journal.ok()) return journal.status().WithPrefix("opening journal " + options.journal);
  auto agent = std::make_unique<AgentImpl>(std::move(options), std::move(*journal));
  agent->StartRetention();  // before the server: Describe reads it
  REPRISE_RETURN_IF_ERROR(agent->StartServer());
  REPRISE_RETURN_IF_ERROR(agent->StartMetricsServer());
  agent->JoinFleet();
  agent->WatchJournal();
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace reprise
