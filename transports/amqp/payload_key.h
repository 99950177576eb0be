// A message's key from its JSON payload. Internal to reprise_amqp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace reprise::amqp {

// The field at `path` ("account" or "account.id": object members, dot
// separated) of the JSON object `payload`: a string's text, or a number's or
// boolean's literal; nullopt when absent, another type, or not JSON.
std::optional<std::string> PayloadField(std::string_view payload, std::string_view path);

}  // namespace reprise::amqp
