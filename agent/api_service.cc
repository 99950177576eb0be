#include "api_service.h"

#include <unistd.h>

#include <grpcpp/alarm.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "convert.h"
#include "migration.h"
#include "retention.h"
#include "reprise/store/audit.h"
#include "reprise/store/filter.h"
#include "reprise/store/flow.h"
#include "reprise/store/instance.h"

namespace reprise {
namespace {


// Journal queries are short and bounded (paged, indexed), so they run on the
// callback thread rather than hopping to another pool.
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const Status& status) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

// A stream refused before it starts.
template <class Response>
class RefusedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriteReactor(const Status& status) { this->Finish(ToGrpc(status)); }
  void OnDone() override { delete this; }
};

// The method `name` of the Agent service, which must take `request` and
// answer `response` (`streams` of them): a handler registered under another
// method's name would read its requests as the wrong type.
const google::protobuf::MethodDescriptor& MethodToGate(const std::string& name,
                                                       const google::protobuf::Descriptor* request,
                                                       const google::protobuf::Descriptor* response,
                                                       bool streams) {
  const auto* method = AgentServiceDescriptor().FindMethodByName(name);
  if (method == nullptr || method->input_type() != request || method->output_type() != response ||
      method->client_streaming() || method->server_streaming() != streams) {
    std::fprintf(stderr, "reprise: no method %s(%s) returns (%s%s) in agent.proto\n", name.c_str(),
                 request->full_name().c_str(), streams ? "stream " : "",
                 response->full_name().c_str());
    std::abort();
  }
  return *method;
}

// Streams a job's progress every 250 ms until it ends. Finish is called
// exactly once: from Next() or OnWriteDone(), never while the alarm is set.
class WatchJobReactor final : public grpc::ServerWriteReactor<v1::JobProgress> {
 public:
  WatchJobReactor(ReflowEngine* engine, std::string id) : engine_(engine), id_(std::move(id)) {
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the watcher went away"));
      return;
    }
    if (final_) {
      Finish(grpc::Status::OK);
      return;
    }
    alarm_.Set(std::chrono::system_clock::now() + std::chrono::milliseconds(250),
               [this](bool) { Next(); });
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (cancelled_) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled"));
      return;
    }
    auto p = engine_->Progress(id_);
    if (!p.ok()) {
      Finish(ToGrpc(p.status()));
      return;
    }
    progress_.Clear();
    ToProto(*p, &progress_);
    final_ = progress_.final();
    StartWrite(&progress_);
  }

  ReflowEngine* const engine_;
  const std::string id_;
  v1::JobProgress progress_;
  bool final_ = false;
  std::atomic<bool> cancelled_{false};
  grpc::Alarm alarm_;
};

}  // namespace

template <class Request, class Response>
int ApiService::Gate(const std::string& name,
                     grpc::ServerUnaryReactor* (ApiService::*serve)(grpc::CallbackServerContext*,
                                                                    const Request*, Response*)) {
  const auto& method = MethodToGate(name, Request::descriptor(), Response::descriptor(), false);
  MarkMethodCallback(method.index(),
                     new grpc::internal::CallbackUnaryHandler<Request, Response>(
                         [this, serve, &method](grpc::CallbackServerContext* ctx,
                                                const Request* request, Response* response) {
                           Status admitted = gatekeeper_->Admit(*ctx, method);
                           if (!admitted.ok()) return Finish(ctx, admitted);
                           return (this->*serve)(ctx, request, response);
                         }));
  return method.index();
}

template <class Request, class Response>
int ApiService::Gate(const std::string& name,
                     grpc::ServerWriteReactor<Response>* (ApiService::*serve)(
                         grpc::CallbackServerContext*, const Request*)) {
  const auto& method = MethodToGate(name, Request::descriptor(), Response::descriptor(), true);
  MarkMethodCallback(method.index(),
                     new grpc::internal::CallbackServerStreamingHandler<Request, Response>(
                         [this, serve, &method](grpc::CallbackServerContext* ctx,
                                                const Request* request)
                             -> grpc::ServerWriteReactor<Response>* {
                           Status admitted = gatekeeper_->Admit(*ctx, method);
                           if (!admitted.ok()) return new RefusedWriteReactor<Response>(admitted);
                           return (this->*serve)(ctx, request);
                         }));
  return method.index();
}

ApiService::ApiService(AgentCore* core, Gatekeeper* gatekeeper)
    : core_(core), gatekeeper_(gatekeeper) {
  // The generated base registered each method to call its handler directly;
  // here each is registered again, behind the gatekeeper.
  const std::set<int> gated = {
      Gate("Describe", &ApiService::Describe),
      Gate("ListMessages", &ApiService::ListMessages),
      Gate("GetMessage", &ApiService::GetMessage),
      Gate("CountMessages", &ApiService::CountMessages),
      Gate("StartReflow", &ApiService::StartReflow),
      Gate("WatchJob", &ApiService::WatchJob),
      Gate("ListJobs", &ApiService::ListJobs),
      Gate("GetJob", &ApiService::GetJob),
      Gate("CancelJob", &ApiService::CancelJob),
      Gate("Rederive", &ApiService::Rederive),
      Gate("ListKnobs", &ApiService::ListKnobs),
      Gate("InvokeKnob", &ApiService::InvokeKnob),
      Gate("ListFlows", &ApiService::ListFlows),
      Gate("GetFlow", &ApiService::GetFlow),
      Gate("SetFlow", &ApiService::SetFlow),
      Gate("Migrate", &ApiService::Migrate),
      Gate("ListAudit", &ApiService::ListAudit),
  };
  // A method left out here would answer without the gatekeeper: refuse to
  // serve at all rather than that.
  const auto& service = AgentServiceDescriptor();
  for (int i = 0; i < service.method_count(); ++i) {
    if (gated.count(i) == 0) {
      std::fprintf(stderr, "reprise: %s is not behind the gatekeeper (ApiService::ApiService)\n",
                   service.method(i)->full_name().c_str());
      std::abort();
    }
  }
}

grpc::ServerUnaryReactor* ApiService::CheckFilter(grpc::CallbackServerContext* ctx,
                                                  const std::string& filter) {
  const size_t limit = core_->options().max_filter_length;
  if (filter.size() <= limit) return nullptr;
  return Finish(ctx, InvalidArgument("filter: " + std::to_string(filter.size()) +
                                     " bytes, over the limit of " + std::to_string(limit) +
                                     " (max_filter_length); narrow it with fewer, broader terms "
                                     "(a prefix such as key = \"account:*\" instead of a list)"));
}

namespace {

// True when `e` compares a payload value anywhere.
bool ReadsPayload(const filter::Expr& e) {
  using filter::And, filter::Comparison, filter::Not, filter::Or;
  if (const auto* c = std::get_if<Comparison>(&e.node)) return c->field.rfind("payload", 0) == 0;
  if (const auto* a = std::get_if<And>(&e.node)) return ReadsPayload(*a->left) || ReadsPayload(*a->right);
  if (const auto* o = std::get_if<Or>(&e.node)) return ReadsPayload(*o->left) || ReadsPayload(*o->right);
  return ReadsPayload(*std::get<Not>(e.node).operand);
}

bool ReadsPayload(const std::string& filter) {
  auto parsed = filter::Parse(filter);
  return parsed.ok() && *parsed != nullptr && ReadsPayload(**parsed);
}

}  // namespace

grpc::ServerUnaryReactor* ApiService::CheckPayloadAccess(grpc::CallbackServerContext* ctx,
                                                         const Caller& caller,
                                                         const std::string& filter,
                                                         const std::string& group_by) {
  if (!Redact(caller)) return nullptr;
  // A group-by field goes through the filter parser, which knows how it
  // may be spelled (Payload.a, payload.items[0]).
  if (!ReadsPayload(filter) && (group_by.empty() || !ReadsPayload(group_by + " = x"))) return nullptr;
  return Finish(ctx, Status(StatusCode::kPermissionDenied,
                            caller.who + " is a viewer and this agent hides payloads from viewers "
                                         "(redact_payloads_for_viewers): filter and group by "
                                         "metadata only, or use an operator token"));
}

uint32_t ApiService::PageSize(uint32_t requested) const {
  const uint32_t limit = core_->options().max_page_size;
  return std::min(requested == 0 ? ListQuery{}.page_size : requested, limit);
}

bool ApiService::Redact(const Caller& caller) const {
  return caller.role == Role::kViewer && core_->options().redact_payloads_for_viewers;
}

grpc::ServerUnaryReactor* ApiService::Describe(grpc::CallbackServerContext* ctx,
                                               const v1::DescribeRequest*,
                                               v1::DescribeResponse* response) {
  const AgentOptions& opts = core_->options();
  response->set_service(opts.service);
  response->set_instance(core_->instance());
  response->set_agent_version(kVersion);
  response->set_api_version("reprise.v1");
  response->set_listen_address(core_->listen_address());
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  response->set_host(host);
  response->set_pid(getpid());
  SetTimestamp(core_->started_at(), response->mutable_started_at());
  response->set_uptime_seconds(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now() - core_->started_at())
                                   .count()));

  AgentStats stats = core_->Stats();
  v1::JournalHealth* j = response->mutable_journal();
  ToProto(opts, stats, j);
  j->set_backend(core_->journal().Describe());
  j->set_schema_version(core_->journal().SchemaVersion());

  v1::FleetHealth* fleet = response->mutable_fleet();
  ToProto(stats, fleet);
  for (const TransportStatus& t : stats.transports) ToProto(t, response->add_transports());
  if (auto live = core_->journal().instances().ListInstances(opts.service, false); live.ok()) {
    fleet->set_live_instances(static_cast<uint32_t>(live->size()));
  } else if (fleet->heartbeat_error().empty()) {
    fleet->set_heartbeat_error(live.status().ToString());
  }

  // The journal's extent now; the last run's when it cannot be read.
  auto extent = core_->journal().Extent();
  ToProto(RetentionPolicy(opts), stats.retention,
          extent.ok() ? *extent
                      : JournalExtent{.oldest_us = stats.retention.oldest_us,
                                      .bytes = stats.retention.journal_bytes},
          response->mutable_retention());

  std::vector<std::string> handlers = core_->HandlerChannels();
  std::vector<std::string> senders = core_->SenderChannels();
  for (const auto& h : handlers) response->add_handlers(h);
  for (const auto& s : senders) response->add_senders(s);
  auto has = [](const std::vector<std::string>& v, const std::string& c) {
    return std::find(v.begin(), v.end(), c) != v.end();
  };

  core_->AwaitRecorded();  // read-your-own-record (AgentCore)
  auto channels = core_->journal().Channels();
  if (!channels.ok()) {
    // The journal being unreadable is itself health information; report it
    // rather than failing Describe.
    j->set_healthy(false);
    if (j->last_error().empty()) j->set_last_error(channels.status().ToString());
  } else {
    for (const ChannelInfo& c : *channels) {
      ToProto(c, has(handlers, c.channel), has(senders, c.channel), response->add_channels());
    }
  }
  for (const filter::FieldInfo& f : filter::Fields()) ToProto(f, response->add_filter_fields());
  for (const std::string& k : filter::Keywords()) response->add_filter_keywords(k);
  for (const KnobInfo& k : core_->knobs().List()) response->add_knobs(k.name);
  for (const std::string& d : core_->DeriverNames()) response->add_derivers(d);
  for (const std::string& f : core_->flows().Names()) response->add_flows(f);
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::ListMessages(grpc::CallbackServerContext* ctx,
                                                   const v1::ListMessagesRequest* request,
                                                   v1::ListMessagesResponse* response) {
  const Caller caller = Who(ctx);
  if (auto* bad = CheckFilter(ctx, request->filter())) return bad;
  if (auto* denied = CheckPayloadAccess(ctx, caller, request->filter())) return denied;
  ListQuery q;
  q.filter = request->filter();
  q.page_size = PageSize(request->page_size());
  q.page_token = request->page_token();
  const bool redact = request->with_payload() && Redact(caller);
  q.with_payload = request->with_payload() && !redact;
  q.oldest_first = request->oldest_first();
  core_->AwaitRecorded();  // read-your-own-record (AgentCore)
  auto page = core_->journal().List(q);
  if (!page.ok()) return Finish(ctx, page.status());
  for (const Message& m : page->messages) {
    v1::Message* out = response->add_messages();
    ToProto(m, out);
    out->set_payload_redacted(redact);
  }
  response->set_next_page_token(page->next_page_token);
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::GetMessage(grpc::CallbackServerContext* ctx,
                                                 const v1::GetMessageRequest* request,
                                                 v1::GetMessageResponse* response) {
  const Caller caller = Who(ctx);
  if (request->id().empty()) {
    return Finish(ctx, InvalidArgument("id is empty; pass the id of a message (see `find`)"));
  }
  core_->AwaitRecorded();  // read-your-own-record (AgentCore)
  auto lineage = core_->journal().Get(request->id());
  if (!lineage.ok()) return Finish(ctx, RemovedByRetention(core_->journal(), core_->options(), request->id(),
                                                      lineage.status()));
  ToProto(lineage->message, response->mutable_message());
  for (const Message& m : lineage->causes) ToProto(m, response->add_causes());
  for (const Message& m : lineage->effects) ToProto(m, response->add_effects());
  for (const Message& m : lineage->copies) ToProto(m, response->add_copies());
  if (Redact(caller)) {
    auto redact = [](v1::Message* m) {
      m->clear_payload();
      m->set_payload_redacted(true);
    };
    redact(response->mutable_message());
    for (auto* list : {response->mutable_causes(), response->mutable_effects(), response->mutable_copies()}) {
      for (v1::Message& m : *list) redact(&m);
    }
  }
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::CountMessages(grpc::CallbackServerContext* ctx,
                                                    const v1::CountMessagesRequest* request,
                                                    v1::CountMessagesResponse* response) {
  const Caller caller = Who(ctx);
  if (auto* bad = CheckFilter(ctx, request->filter())) return bad;
  if (auto* denied = CheckPayloadAccess(ctx, caller, request->filter(), request->group_by())) {
    return denied;
  }
  core_->AwaitRecorded();  // read-your-own-record (AgentCore)
  auto rows = core_->journal().Count(request->filter(), request->group_by());
  if (!rows.ok()) return Finish(ctx, rows.status());
  uint64_t total = 0;
  for (const CountRow& r : *rows) {
    auto* g = response->add_groups();
    g->set_value(r.group);
    g->set_count(r.count);
    total += r.count;
  }
  if (!request->group_by().empty() && rows->size() >= 1000) {
    // Only the largest groups are listed; count the total on its own.
    auto all = core_->journal().Count(request->filter(), "");
    if (!all.ok()) return Finish(ctx, all.status());
    total = all->empty() ? 0 : all->front().count;
  }
  response->set_total(total);
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::StartReflow(grpc::CallbackServerContext* ctx,
                                                  const v1::StartReflowRequest* request,
                                                  v1::StartReflowResponse* response) {
  const Caller caller = Who(ctx);
  if (auto* bad = CheckFilter(ctx, request->filter())) return bad;
  JobSpec spec;
  spec.filter = request->filter();
  spec.target = request->target() == v1::DOWNSTREAM ? ReflowTarget::kDownstream : ReflowTarget::kSelf;
  spec.rate = request->rate();
  spec.concurrency = request->concurrency();
  spec.max_failures = request->max_failures();
  spec.limit = request->limit();
  spec.reason = request->reason();
  spec.created_by = caller.who;
  spec.include_resolved = request->include_resolved();
  spec.latest_per_key = request->latest_per_key();
  spec.pin = request->pin();
  if (request->dry_run()) {
    auto plan = core_->reflow().DryRun(spec);
    if (!plan.ok()) return Finish(ctx, plan.status());
    ToProto(*plan, response->mutable_dry_run());
    return Finish(ctx, Status::Ok());
  }
  core_->AwaitRecorded();  // read-your-own-record (AgentCore)
  auto job = core_->reflow().Start(spec);
  if (!job.ok()) return Finish(ctx, job.status());
  ToProto(*job, response->mutable_job());
  return Finish(ctx, Status::Ok());
}

grpc::ServerWriteReactor<v1::JobProgress>* ApiService::WatchJob(grpc::CallbackServerContext*,
                                                                const v1::WatchJobRequest* request) {
  return new WatchJobReactor(&core_->reflow(), request->id());
}

grpc::ServerUnaryReactor* ApiService::ListJobs(grpc::CallbackServerContext* ctx,
                                               const v1::ListJobsRequest* request,
                                               v1::ListJobsResponse* response) {
  auto jobs = core_->reflow().List(request->limit());
  if (!jobs.ok()) return Finish(ctx, jobs.status());
  for (const JobRecord& j : *jobs) ToProto(j, response->add_jobs());
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::GetJob(grpc::CallbackServerContext* ctx,
                                             const v1::GetJobRequest* request, v1::Job* response) {
  auto p = core_->reflow().Progress(request->id());
  if (!p.ok()) return Finish(ctx, p.status());
  ToProto(p->job, response);
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::CancelJob(grpc::CallbackServerContext* ctx,
                                                const v1::CancelJobRequest* request,
                                                v1::Job* response) {
  auto job = core_->reflow().Cancel(request->id(), request->reason());
  if (!job.ok()) return Finish(ctx, job.status());
  ToProto(*job, response);
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::Rederive(grpc::CallbackServerContext* ctx,
                                               const v1::RederiveRequest* request,
                                               v1::RederiveResponse* response) {
  const Caller caller = Who(ctx);
  if (auto* bad = CheckFilter(ctx, request->filter())) return bad;
  // Inline, each key's inputs are read while the caller waits; more keys
  // than this run as a job with progress instead.
  constexpr size_t kInlineKeys = 100;
  if (request->deriver().empty()) {
    return Finish(ctx, InvalidArgument("rederive: name a deriver (see Describe.derivers)"));
  }
  std::vector<std::string> keys(request->keys().begin(), request->keys().end());
  if (keys.empty() == request->filter().empty()) {
    return Finish(ctx, InvalidArgument("rederive: give either keys or a filter"));
  }
  bool as_job = request->background() || keys.size() > kInlineKeys;
  if (!request->filter().empty() && !as_job) {
    core_->AwaitRecorded();  // read-your-own-record (AgentCore)
    auto selected = core_->journal().Keys(request->filter(), kInlineKeys);
    if (selected.ok()) {
      keys = std::move(*selected);
    } else if (selected.status().code() == StatusCode::kResourceExhausted) {
      as_job = true;
    } else {
      return Finish(ctx, selected.status());
    }
  }
  if (as_job) {
    // The deriver is checked now: a job that can only fail is not started.
    const auto derivers = core_->DeriverNames();
    if (std::find(derivers.begin(), derivers.end(), request->deriver()) == derivers.end()) {
      std::string names;
      for (const std::string& n : derivers) names += (names.empty() ? "" : ", ") + n;
      return Finish(ctx, NotFound("no deriver named \"" + request->deriver() + "\"; registered: " +
                                  (names.empty() ? "none" : names)));
    }
    JobSpec spec;
    spec.kind = std::string(kRederiveJob);
    spec.deriver = request->deriver();
    spec.dry_run = request->dry_run();
    spec.filter = request->filter();
    if (request->filter().empty()) spec.keys = keys;
    spec.rate = request->rate();
    spec.concurrency = request->concurrency();
    spec.max_failures = request->max_failures();
    spec.reason = request->reason();
    spec.created_by = caller.who;
    core_->AwaitRecorded();  // read-your-own-record (AgentCore)
    auto job = core_->reflow().Start(spec);
    if (!job.ok()) return Finish(ctx, job.status());
    ToProto(*job, response->mutable_job());
    return Finish(ctx, Status::Ok());
  }
  for (const std::string& key : keys) {
    auto r = core_->RederiveKey(request->deriver(), key, request->dry_run());
    if (!r.ok()) return Finish(ctx, r.status());
    AddResult(*r, response);
  }
  // The answer names the new outputs: let the caller read them at once, in
  // async durability too (one commit for the whole call). A journal that
  // fails keeps them queued and reports it through Describe.
  if (response->changed() > 0 && !request->dry_run()) (void)core_->Flush();
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::ListKnobs(grpc::CallbackServerContext* ctx,
                                                const v1::ListKnobsRequest*,
                                                v1::ListKnobsResponse* response) {
  for (const KnobInfo& k : core_->knobs().List()) {
    v1::Knob* out = response->add_knobs();
    out->set_name(k.name);
    out->set_help(k.help);
    out->set_mutates(k.options.mutates);
    out->set_deadline_ms(static_cast<uint32_t>(k.options.deadline.count()));
    for (const KnobArg& a : k.args) {
      v1::KnobArgument* arg = out->add_args();
      arg->set_name(a.name);
      arg->set_type(std::string(ArgTypeName(a.type)));
      arg->set_help(a.help);
      arg->set_required(a.required);
      for (const std::string& v : a.values) arg->add_values(v);
    }
  }
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::InvokeKnob(grpc::CallbackServerContext* ctx,
                                                 const v1::InvokeKnobRequest* request,
                                                 v1::InvokeKnobResponse* response) {
  // Slow knobs block this callback thread until their deadline at most.
  std::map<std::string, std::string> args(request->args().begin(), request->args().end());
  auto result = core_->knobs().Invoke(request->name(), args);
  if (!result.ok()) return Finish(ctx, result.status());
  response->set_result(*result);
  return Finish(ctx, Status::Ok());
}

static void FlowToProto(const FlowRecord& f, const std::vector<std::string>& declared, v1::Flow* out) {
  out->set_name(f.name);
  for (const auto& v : f.variants) out->add_variants(v);
  out->set_default_variant(f.default_variant);
  out->mutable_rollout()->set_variant(f.rollout.variant);
  out->mutable_rollout()->set_percent(f.rollout.percent);
  out->set_assignments(f.assignments);
  out->set_version(f.version);
  SetTimestamp(f.updated_at_us, out->mutable_updated_at());
  out->set_updated_by(f.updated_by);
  out->set_reason(f.reason);
  out->set_declared_here(std::find(declared.begin(), declared.end(), f.name) != declared.end());
}

grpc::ServerUnaryReactor* ApiService::ListFlows(grpc::CallbackServerContext* ctx,
                                                const v1::ListFlowsRequest*,
                                                v1::ListFlowsResponse* response) {
  auto flows = core_->journal().flows().List();
  if (!flows.ok()) return Finish(ctx, flows.status());
  std::vector<std::string> declared = core_->flows().Names();
  for (const FlowRecord& f : *flows) FlowToProto(f, declared, response->add_flows());
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::GetFlow(grpc::CallbackServerContext* ctx,
                                              const v1::GetFlowRequest* request,
                                              v1::GetFlowResponse* response) {
  FlowStore& store = core_->journal().flows();
  auto flow = store.Get(request->name());
  if (!flow.ok()) return Finish(ctx, flow.status());
  FlowToProto(*flow, core_->flows().Names(), response->mutable_flow());
  auto page = store.Assignments(request->name(), PageSize(request->page_size()), request->page_token());
  if (!page.ok()) return Finish(ctx, page.status());
  for (const FlowAssignment& a : page->assignments) {
    v1::FlowAssignment* out = response->add_assignments();
    out->set_key(a.key);
    out->set_variant(a.variant);
  }
  response->set_next_page_token(page->next_page_token);
  auto history = store.History(request->name(), request->history());
  if (!history.ok()) return Finish(ctx, history.status());
  for (const FlowHistoryEntry& h : *history) {
    v1::FlowChange* out = response->add_history();
    out->set_version(h.version);
    SetTimestamp(h.at_us, out->mutable_at());
    out->set_who(h.who);
    out->set_reason(h.reason);
    out->set_change(h.change);
  }
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::SetFlow(grpc::CallbackServerContext* ctx,
                                              const v1::SetFlowRequest* request,
                                              v1::SetFlowResponse* response) {
  const Caller caller = Who(ctx);
  if (request->flow().empty()) {
    return Finish(ctx, InvalidArgument("flow is empty; name a flow (see ListFlows)"));
  }
  FlowChange change;
  change.flow = request->flow();
  if (!request->default_variant().empty()) change.default_variant = request->default_variant();
  change.assign.insert(request->assign().begin(), request->assign().end());
  change.unassign.assign(request->unassign().begin(), request->unassign().end());
  if (request->has_rollout()) {
    change.rollout = FlowRollout{request->rollout().variant(), request->rollout().percent()};
  }
  change.who = caller.who;
  change.reason = request->reason();
  auto flow = core_->flows().Set(change);
  if (!flow.ok()) return Finish(ctx, flow.status());
  FlowToProto(*flow, core_->flows().Names(), response->mutable_flow());
  response->set_version(flow->version);
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::Migrate(grpc::CallbackServerContext* ctx,
                                              const v1::MigrateRequest* request,
                                              v1::MigrateResponse* response) {
  const Caller caller = Who(ctx);
  if (auto* bad = CheckFilter(ctx, request->filter())) return bad;
  MigrationRequest r{.flow = request->flow(),
                     .variant = request->variant(),
                     .keys = {request->keys().begin(), request->keys().end()},
                     .filter = request->filter(),
                     .percent = request->percent() > 0 ? request->percent() : -1,
                     .dry_run = request->dry_run(),
                     .reason = request->reason(),
                     .who = caller.who,
                     .rate = request->rate(),
                     .concurrency = request->concurrency()};
  if (request->has_reflow_since()) {
    r.reflow_since_us = request->reflow_since().seconds() * 1000000 + request->reflow_since().nanos() / 1000;
  }
  auto result = reprise::Migrate(r, core_->flows(), core_->journal(), core_->reflow());
  if (!result.ok()) return Finish(ctx, result.status());
  response->set_keys(result->keys.size());
  for (size_t i = 0; i < result->keys.size() && i < 10; ++i) response->add_sample_keys(result->keys[i]);
  response->set_messages(result->messages);
  response->set_flow_version(result->flow_version);
  if (result->job) ToProto(*result->job, response->mutable_job());
  return Finish(ctx, Status::Ok());
}

grpc::ServerUnaryReactor* ApiService::ListAudit(grpc::CallbackServerContext* ctx,
                                                const v1::ListAuditRequest* request,
                                                v1::ListAuditResponse* response) {
  const Caller caller = Who(ctx);
  AuditQuery q;
  q.action = request->action();
  q.who = request->who();
  if (request->has_since()) {
    q.since_us = request->since().seconds() * 1000000 + request->since().nanos() / 1000;
  }
  q.failed_only = request->failed_only();
  q.limit = PageSize(request->page_size());
  q.page_token = request->page_token();
  auto page = core_->journal().audit().List(q);
  if (!page.ok()) return Finish(ctx, page.status());
  // Operators' requests quote payload values (filters, knob arguments).
  const bool hide_requests = Redact(caller);
  for (const AuditRecord& r : page->records) {
    v1::AuditRecord* out = response->add_records();
    out->set_id(r.id);
    SetTimestamp(r.at_us, out->mutable_at());
    out->set_who(r.who);
    out->set_action(r.action);
    if (!hide_requests) out->set_request(r.request);
    out->set_result(r.result);
    out->set_ok(r.code == StatusCode::kOk);
    out->set_instance(r.instance);
  }
  response->set_next_page_token(page->next_page_token);
  return Finish(ctx, Status::Ok());
}

}  // namespace reprise
