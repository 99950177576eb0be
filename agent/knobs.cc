#include "knobs.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "host_code.h"
#include "reprise/base/did_you_mean.h"
#include "reprise/base/duration.h"

namespace reprise {
namespace {


std::string Expected(const std::vector<KnobArg>& spec) {
  if (spec.empty()) return "it takes no arguments";
  std::string out = "expected:";
  for (const KnobArg& a : spec) {
    out += " " + a.name + "=" + std::string(ArgTypeName(a.type));
    if (a.type == ArgType::kEnum) {
      out += "(";
      for (size_t i = 0; i < a.values.size(); ++i) out += (i ? "|" : "") + a.values[i];
      out += ")";
    }
    if (!a.required) out += " (optional)";
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return s[0] == '-' ? -v : v;
}

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

}  // namespace

std::string_view ArgTypeName(ArgType t) {
  switch (t) {
    case ArgType::kString: return "string";
    case ArgType::kInt: return "int";
    case ArgType::kBool: return "bool";
    case ArgType::kDuration: return "duration";
    case ArgType::kEnum: return "enum";
  }
  return "string";
}

std::string Args::String(std::string_view name, std::string fallback) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? fallback : it->second;
}

int64_t Args::Int(std::string_view name, int64_t fallback) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? fallback : ParseInt(it->second).value_or(fallback);
}

bool Args::Bool(std::string_view name, bool fallback) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? fallback : ParseBool(it->second).value_or(fallback);
}

std::chrono::milliseconds Args::Duration(std::string_view name,
                                         std::chrono::milliseconds fallback) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return fallback;
  auto d = ParseDuration(it->second);
  return d.ok() ? std::chrono::duration_cast<std::chrono::milliseconds>(*d) : fallback;
}

StatusOr<Args> Args::Parse(std::string_view knob, const std::vector<KnobArg>& spec,
                           const std::map<std::string, std::string>& raw) {
  const std::string prefix = "knob " + std::string(knob) + ": ";
  std::vector<std::string> names;
  for (const KnobArg& a : spec) names.push_back(a.name);
  for (const auto& [name, value] : raw) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      return InvalidArgument(prefix + "unknown argument \"" + name + "\"" + DidYouMean(name, names) +
                             "; " + Expected(spec));
    }
  }
  Args args;
  for (const KnobArg& a : spec) {
    auto it = raw.find(a.name);
    if (it == raw.end()) {
      if (a.required) {
        return InvalidArgument(prefix + "missing argument \"" + a.name + "\"; " + Expected(spec));
      }
      continue;
    }
    const std::string& v = it->second;
    bool valid = true;
    switch (a.type) {
      case ArgType::kString: break;
      case ArgType::kInt: valid = ParseInt(v).has_value(); break;
      case ArgType::kBool: valid = ParseBool(v).has_value(); break;
      case ArgType::kDuration: valid = ParseDuration(v).ok(); break;
      case ArgType::kEnum:
        valid = std::find(a.values.begin(), a.values.end(), v) != a.values.end();
        break;
    }
    if (!valid) {
      return InvalidArgument(prefix + "argument " + a.name + "=\"" + v + "\" is not a valid " +
                             std::string(ArgTypeName(a.type)) +
                             (a.type == ArgType::kEnum ? DidYouMean(v, a.values) : "") + "; " +
                             Expected(spec));
    }
    args.values_[a.name] = v;
  }
  return args;
}

void KnobRegistry::Register(KnobInfo info, KnobFn fn) {
  std::string name = info.name;
  auto entry = std::make_shared<const Entry>(Entry{std::move(info), std::move(fn)});
  std::unique_lock lock(mu_);
  knobs_[name] = std::move(entry);
}

std::vector<KnobInfo> KnobRegistry::List() const {
  std::shared_lock lock(mu_);
  std::vector<KnobInfo> out;
  for (const auto& [name, e] : knobs_) out.push_back(e->info);
  return out;
}

StatusOr<std::string> KnobRegistry::Invoke(
    std::string_view name, const std::map<std::string, std::string>& raw_args) const {
  std::shared_ptr<const Entry> entry;
  std::vector<std::string> names;
  {
    std::shared_lock lock(mu_);
    auto it = knobs_.find(name);
    if (it != knobs_.end()) entry = it->second;
    for (const auto& [n, e] : knobs_) names.push_back(n);
  }
  if (!entry) {
    return NotFound("no knob named \"" + std::string(name) + "\"" + DidYouMean(name, names) +
                    "; list them with `knobs`");
  }
  REPRISE_ASSIGN_OR_RETURN(auto args, Args::Parse(name, entry->info.args, raw_args));

  // The knob runs on its own thread so that a slow one cannot hold the
  // caller past its deadline; it finishes in the background if it must.
  struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
    std::string result;
  };
  auto outcome = std::make_shared<Outcome>();
  std::thread([entry, args = std::move(args), outcome] {
    std::string result;
    Status st = Contain("knob " + entry->info.name, [&] {
      auto r = entry->fn(args);
      if (r.ok()) result = std::move(*r);
      return r.status();
    });
    std::lock_guard<std::mutex> lock(outcome->mu);
    outcome->status = std::move(st);
    outcome->result = std::move(result);
    outcome->done = true;
    outcome->cv.notify_all();
  }).detach();

  std::unique_lock<std::mutex> lock(outcome->mu);
  if (!outcome->cv.wait_for(lock, entry->info.options.deadline, [&] { return outcome->done; })) {
    return DeadlineExceeded("knob " + entry->info.name + " did not finish within " +
                            std::to_string(entry->info.options.deadline.count()) +
                            " ms; it goes on in the background and its result will not be reported");
  }
  if (!outcome->status.ok()) return outcome->status;
  return outcome->result;
}

}  // namespace reprise
