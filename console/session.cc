#include "reprise/console/session.h"

#include <google/protobuf/util/json_util.h>

#include "reprise/console/format.h"
#include "reprise/console/interrupt.h"

namespace reprise::console {
namespace {

template <typename EnumDescriptorFn>
std::vector<std::string> EnumValueNames(EnumDescriptorFn descriptor) {
  // Names come from the API's own enums so that new outcomes show up in
  // completion without a list to keep in step here.
  std::vector<std::string> names;
  const auto* d = descriptor();
  for (int i = 0; i < d->value_count(); ++i) {
    if (d->value(i)->number() == 0) continue;  // *_UNSPECIFIED
    names.push_back(AsciiLower(d->value(i)->name()));
  }
  return names;
}

}  // namespace

Vocabulary VocabularyFromDescribe(const v1::DescribeResponse& describe) {
  Vocabulary v;
  for (const auto& f : describe.filter_fields()) {
    v.fields.push_back({f.name(), f.description(), f.is_prefix()});
  }
  v.keywords.assign(describe.filter_keywords().begin(), describe.filter_keywords().end());
  for (const auto& c : describe.channels()) {
    v.channels.push_back(c.channel());
    v.values["channel"].push_back(JsonQuote(c.channel()));
  }
  v.derivers.assign(describe.derivers().begin(), describe.derivers().end());
  v.values["outcome"] = EnumValueNames(v1::Outcome_descriptor);
  v.values["direction"] = EnumValueNames(v1::Direction_descriptor);
  return v;
}

std::string MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) return "{\"error\":" + JsonQuote(std::string(status.message())) + "}";
  return out;
}

CommandStatus Session::Connect() {
  if (describe_) return CommandStatus::Ok();
  v1::DescribeResponse response;
  grpc::Status status = agent_.Describe(&response);
  if (!status.ok()) {
    // A deadline on the very first call means nothing answered either.
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return {CommandCode::kUnreachable,
              "cannot reach agent at " + agent_.address() + ": no answer within " +
                  std::to_string(agent_.timeout().count()) +
                  " ms — is the service running? use --agent HOST:PORT",
              "DEADLINE_EXCEEDED"};
    }
    return RpcFailure(status);
  }
  UpdateDescribe(response);
  // Knob arguments and flow variants for completion; an older agent without
  // these calls simply completes less.
  v1::ListKnobsResponse knobs;
  if (agent_.ListKnobs(&knobs).ok()) {
    for (const auto& k : knobs.knobs()) {
      auto& args = vocabulary_.knobs[k.name()];
      for (const auto& a : k.args()) {
        args.push_back({a.name(), {a.values().begin(), a.values().end()}});
      }
    }
  }
  RefreshFlows();
  return CommandStatus::Ok();
}

void Session::RefreshFlows() {
  if (!describe_) return;
  for (const auto& f : describe_->flows()) vocabulary_.flows[f];
  v1::ListFlowsResponse flows;
  if (agent_.ListFlows(&flows).ok()) {
    for (const auto& f : flows.flows()) {
      vocabulary_.flows[f.name()].assign(f.variants().begin(), f.variants().end());
    }
  }
}

CommandStatus Session::Run(const Command& command, const TokenizedLine& line) {
  running_ = &command;
  CommandStatus status = command.handler(*this, line);
  running_ = nullptr;
  return status;
}

bool Session::Confirm(const std::string& question) {
  if (!asks()) return true;
  std::ostream& out = output_.out();
  out << question << " [y/N] " << std::flush;
  InterruptScope interrupt;
  std::string answer;
  bool read = ReadTerminalLine(interrupt, &answer);
  if (!read) out << (interrupt.interrupted() ? "^C\n" : "\n");
  while (!answer.empty() && (answer.back() == ' ' || answer.back() == '\r')) answer.pop_back();
  size_t b = answer.find_first_not_of(' ');
  answer = b == std::string::npos ? "" : answer.substr(b);
  return read && (answer == "y" || answer == "Y" || answer == "yes" || answer == "YES");
}

void Session::UpdateDescribe(const v1::DescribeResponse& response) {
  describe_ = response;
  Vocabulary fresh = VocabularyFromDescribe(response);
  fresh.knobs = std::move(vocabulary_.knobs);
  fresh.flows = std::move(vocabulary_.flows);
  fresh.job_ids = [this] {
    std::vector<std::string> ids;
    v1::ListJobsRequest request;
    request.set_limit(50);
    v1::ListJobsResponse jobs;
    if (agent_.ListJobs(request, &jobs).ok()) {
      for (const auto& j : jobs.jobs()) ids.push_back(j.id());
    }
    return ids;
  };
  vocabulary_ = std::move(fresh);
}

CommandStatus Session::RpcFailure(const grpc::Status& status) const {
  std::string code = StatusCodeName(status.error_code());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return {CommandCode::kUnreachable,
            "cannot reach agent at " + agent_.address() + ": " + status.error_message() +
                " — is the service running? use --agent HOST:PORT",
            code};
  }
  return {CommandCode::kFailed, code + ": " + status.error_message(), code};
}

void Session::PrintJson(const google::protobuf::Message& message) {
  output_.out() << MessageToJson(message) << "\n";
}

}  // namespace reprise::console
