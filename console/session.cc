#include "reprise/console/session.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>

#include "reprise/console/format.h"

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
    std::string name = d->value(i)->name();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names.push_back(name);
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
  return CommandStatus::Ok();
}

void Session::UpdateDescribe(const v1::DescribeResponse& response) {
  describe_ = response;
  vocabulary_ = VocabularyFromDescribe(response);
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
