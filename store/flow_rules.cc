#include "flow_rules.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "json_text.h"
#include "reprise/base/did_you_mean.h"

namespace reprise::flow_rules {
namespace {

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 200) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string Quoted(std::string_view s) {
  std::string out;
  json::AppendQuoted(out, s);
  return out;
}

std::string Percent(double p) {
  char pct[32];
  std::snprintf(pct, sizeof pct, "%g", p);
  return pct;
}

}  // namespace

std::string JoinVariants(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitVariants(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

Status ValidateDeclaration(std::string_view name, const std::vector<std::string>& variants,
                           std::string_view default_variant) {
  if (!ValidName(name)) {
    return InvalidArgument("flow name \"" + std::string(name) +
                           "\" is not valid: use letters, digits, '.', '_' and '-'");
  }
  if (variants.empty()) return InvalidArgument("flow " + std::string(name) + " declares no variants");
  std::set<std::string_view> seen;
  for (const auto& v : variants) {
    if (!ValidName(v)) {
      return InvalidArgument("flow " + std::string(name) + ": variant \"" + v +
                             "\" is not valid: use letters, digits, '.', '_' and '-'");
    }
    if (!seen.insert(v).second) {
      return InvalidArgument("flow " + std::string(name) + " declares variant " + v + " twice");
    }
  }
  if (!seen.count(default_variant)) {
    return InvalidArgument("flow " + std::string(name) + ": default \"" + std::string(default_variant) +
                           "\" is not one of its variants (" + JoinVariants(variants) + ")");
  }
  return Status::Ok();
}

std::string DeclaredJson(const std::vector<std::string>& variants, std::string_view default_variant) {
  std::string change = "{\"declared\":{\"variants\":[";
  for (size_t i = 0; i < variants.size(); ++i) change += (i ? "," : "") + Quoted(variants[i]);
  change += "],\"default\":" + Quoted(default_variant) + "}}";
  return change;
}

Status ValidateChange(const FlowRecord& f, const FlowChange& c) {
  auto known = [&](const std::string& v) {
    return std::find(f.variants.begin(), f.variants.end(), v) != f.variants.end();
  };
  auto unknown = [&](const std::string& what, const std::string& v) {
    return InvalidArgument(what + ": \"" + v + "\" is not a variant of flow " + f.name +
                           "; its variants are " + JoinVariants(f.variants));
  };
  if (c.default_variant && !known(*c.default_variant)) return unknown("default", *c.default_variant);
  if (c.rollout) {
    if (!(c.rollout->percent >= 0 && c.rollout->percent <= 100)) {
      return InvalidArgument("rollout percent " + Percent(c.rollout->percent) + " is outside 0..100");
    }
    if (c.rollout->percent > 0 && !known(c.rollout->variant)) {
      return unknown("rollout", c.rollout->variant);
    }
  }
  for (const auto& [key, variant] : c.assign) {
    if (key.empty()) return InvalidArgument("assign: empty key");
    if (!known(variant)) return unknown("assign " + key, variant);
  }
  if (!c.default_variant && !c.rollout && c.assign.empty() && c.unassign.empty()) {
    return InvalidArgument("the change to flow " + f.name +
                           " changes nothing: set a default, a rollout, assignments or unassignments");
  }
  return Status::Ok();
}

std::string ChangeJson(const FlowRecord& current, const FlowChange& c) {
  std::string json = "{";
  auto field = [&](const std::string& f) { json += (json.size() > 1 ? "," : "") + f; };
  if (c.default_variant) {
    field("\"default\":{\"from\":" + Quoted(current.default_variant) + ",\"to\":" +
          Quoted(*c.default_variant) + "}");
  }
  if (c.rollout) {
    const bool clear = ClearsRollout(*c.rollout);
    field("\"rollout\":{\"variant\":" + Quoted(clear ? "" : c.rollout->variant) +
          ",\"percent\":" + Percent(clear ? 0.0 : c.rollout->percent) + "}");
  }
  if (!c.assign.empty()) {
    std::string list;
    for (const auto& [key, variant] : c.assign) {
      list += (list.empty() ? "" : ",") + Quoted(key) + ":" + Quoted(variant);
    }
    field("\"assign\":{" + list + "}");
  }
  if (!c.unassign.empty()) {
    std::string list;
    for (const auto& key : c.unassign) list += (list.empty() ? "" : ",") + Quoted(key);
    field("\"unassign\":[" + list + "]");
  }
  return json + "}";
}

Status FlowNotFound(std::string_view name, const std::vector<FlowRecord>& all) {
  std::string msg = "flow \"" + std::string(name) + "\" is not declared by any agent of this journal";
  std::vector<std::string_view> declared;
  for (const FlowRecord& f : all) declared.push_back(f.name);
  if (std::string hint = DidYouMean(name, declared); !hint.empty()) return NotFound(msg + hint);
  std::string names;
  for (const FlowRecord& f : all) names += (names.empty() ? "" : ", ") + f.name;
  return NotFound(msg + (names.empty() ? " (no flows are declared)" : "; flows: " + names));
}

}  // namespace reprise::flow_rules
