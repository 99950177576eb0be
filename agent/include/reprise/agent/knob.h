// Knobs: named operator actions a service registers on its agent (flush a
// cache, reload a config, change a log level), with typed arguments and help
// text. Operators list and invoke them through the API and the console.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

enum class ArgType { kString, kInt, kBool, kDuration, kEnum };
REPRISE_EXPORT std::string_view ArgTypeName(ArgType t);  // "string", "int", "bool", "duration", "enum"

struct KnobArg {
  std::string name;
  ArgType type = ArgType::kString;
  std::string help;
  bool required = true;
  std::vector<std::string> values;  // kEnum: the allowed values
};

// Validated arguments of one invocation. Getters of absent optional
// arguments return the given fallback.
class REPRISE_EXPORT Args {
 public:
  bool Has(std::string_view name) const { return values_.count(std::string(name)) > 0; }
  std::string String(std::string_view name, std::string fallback = "") const;
  int64_t Int(std::string_view name, int64_t fallback = 0) const;
  bool Bool(std::string_view name, bool fallback = false) const;
  std::chrono::milliseconds Duration(std::string_view name,
                                     std::chrono::milliseconds fallback = {}) const;

  // Checks `raw` against `spec` and converts it; INVALID_ARGUMENT listing
  // what is expected otherwise.
  static StatusOr<Args> Parse(std::string_view knob, const std::vector<KnobArg>& spec,
                              const std::map<std::string, std::string>& raw);

 private:
  std::map<std::string, std::string> values_;  // validated text
};

// What the knob did, in a sentence or a few lines, shown to the operator.
using KnobFn = std::function<StatusOr<std::string>(const Args& args)>;

struct KnobOptions {
  bool mutates = true;  // false for read-only knobs (dump a cache's stats)
  std::chrono::milliseconds deadline{5000};  // the caller gets an error after this
};

struct KnobInfo {
  std::string name;
  std::string help;
  std::vector<KnobArg> args;
  KnobOptions options;
};

}  // namespace reprise
