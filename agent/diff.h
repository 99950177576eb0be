// Differences between two outputs of a deriver, for people: field by field
// when both are JSON objects, line by line otherwise. Internal to agent/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace reprise {

// One line per difference:
//   JSON:  `balance: "6.10" -> "6.12"`, `+ fee: 0.2`, `- note: "x"`
//   text:  `- old line`, `+ new line`
// Empty when the outputs are equal.
std::vector<std::string> DiffOutputs(std::string_view before, std::string_view after);

}  // namespace reprise
