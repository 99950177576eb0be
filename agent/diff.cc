#include "diff.h"

#include <map>
#include <optional>

namespace reprise {
namespace {

// A small JSON reader that flattens a document into path -> JSON text of each
// scalar (objects by ".name", arrays by "[i]"). Enough to compare outputs;
// nothing else in the agent needs JSON parsed.
class Flattener {
 public:
  explicit Flattener(std::string_view text) : t_(text) {}

  std::optional<std::map<std::string, std::string>> Run() {
    Space();
    if (i_ >= t_.size() || t_[i_] != '{') return std::nullopt;  // objects only
    if (!Value("")) return std::nullopt;
    Space();
    if (i_ != t_.size()) return std::nullopt;
    return out_;
  }

 private:
  void Space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t' || t_[i_] == '\r')) ++i_;
  }
  bool String(std::string* raw) {  // raw JSON text of the string, quotes included
    size_t start = i_;
    if (i_ >= t_.size() || t_[i_] != '"') return false;
    for (++i_; i_ < t_.size(); ++i_) {
      if (t_[i_] == '\\') {
        ++i_;
      } else if (t_[i_] == '"') {
        ++i_;
        *raw = std::string(t_.substr(start, i_ - start));
        return true;
      }
    }
    return false;
  }
  bool Value(const std::string& path) {
    if (++depth_ > 64) return false;
    Space();
    if (i_ >= t_.size()) return false;
    bool ok = true;
    char c = t_[i_];
    if (c == '{') {
      ++i_;
      Space();
      bool empty = i_ < t_.size() && t_[i_] == '}';
      if (empty) ++i_;
      while (!empty) {
        Space();
        std::string key;
        if (!String(&key)) return false;
        Space();
        if (i_ >= t_.size() || t_[i_++] != ':') return false;
        std::string name = key.substr(1, key.size() - 2);
        if (!Value(path.empty() ? name : path + "." + name)) return false;
        Space();
        if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
        if (i_ < t_.size() && t_[i_] == '}') { ++i_; break; }
        return false;
      }
      if (empty && !path.empty()) out_[path] = "{}";
    } else if (c == '[') {
      ++i_;
      Space();
      bool empty = i_ < t_.size() && t_[i_] == ']';
      if (empty) ++i_;
      for (int n = 0; !empty; ++n) {
        if (!Value(path + "[" + std::to_string(n) + "]")) return false;
        Space();
        if (i_ < t_.size() && t_[i_] == ',') { ++i_; continue; }
        if (i_ < t_.size() && t_[i_] == ']') { ++i_; break; }
        return false;
      }
      if (empty) out_[path] = "[]";
    } else if (c == '"') {
      std::string raw;
      ok = String(&raw);
      out_[path] = raw;
    } else {
      size_t start = i_;
      while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
             t_[i_] != '\n' && t_[i_] != '\t' && t_[i_] != '\r') {
        ++i_;
      }
      std::string_view scalar = t_.substr(start, i_ - start);
      ok = !scalar.empty();
      out_[path] = std::string(scalar);
    }
    --depth_;
    return ok;
  }

  std::string_view t_;
  size_t i_ = 0;
  int depth_ = 0;
  std::map<std::string, std::string> out_;
};

std::vector<std::string_view> Lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

// Line diff by longest common subsequence; outputs are small (one entity).
std::vector<std::string> DiffLines(std::string_view before, std::string_view after) {
  std::vector<std::string_view> a = Lines(before), b = Lines(after);
  constexpr size_t kMaxCells = 4'000'000;
  std::vector<std::string> out;
  if ((a.size() + 1) * (b.size() + 1) > kMaxCells) {
    // Too large to align: say so plainly rather than spend the memory.
    out.push_back("- (" + std::to_string(a.size()) + " lines)");
    out.push_back("+ (" + std::to_string(b.size()) + " lines)");
    return out;
  }
  std::vector<std::vector<uint32_t>> lcs(a.size() + 1, std::vector<uint32_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i, ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back("- " + std::string(a[i++]));  // removals first, as diff(1) does
    } else {
      out.push_back("+ " + std::string(b[j++]));
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> DiffOutputs(std::string_view before, std::string_view after) {
  if (before == after) return {};
  auto a = Flattener(before).Run();
  auto b = Flattener(after).Run();
  if (!a || !b) return DiffLines(before, after);
  std::vector<std::string> out;
  for (const auto& [path, value] : *a) {
    auto it = b->find(path);
    if (it == b->end()) out.push_back("- " + path + ": " + value);
    else if (it->second != value) out.push_back(path + ": " + value + " -> " + it->second);
  }
  for (const auto& [path, value] : *b) {
    if (!a->count(path)) out.push_back("+ " + path + ": " + value);
  }
  if (out.empty()) out.push_back("(same fields, different formatting)");
  return out;
}

}  // namespace reprise
