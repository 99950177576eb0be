#include "lineage.h"

#include <string>

namespace reprise {
namespace {
constexpr int kMaxLineageDepth = 64;
constexpr int kMaxLineageRows = 1000;
}  // namespace

StatusOr<MessageLineage> ReadLineage(std::string_view id, const SelectMessagesWhere& select) {
  MessageLineage out;
  REPRISE_ASSIGN_OR_RETURN(auto one, select("id", id, true, 1));
  if (one.empty()) {
    return NotFound("message " + std::string(id) + " does not exist in this journal; list ids with `find`");
  }
  out.message = std::move(one.front());
  std::string parent = out.message.causation_id;
  for (int depth = 0; !parent.empty() && depth < kMaxLineageDepth; ++depth) {
    REPRISE_ASSIGN_OR_RETURN(auto p, select("id", parent, false, 1));
    if (p.empty()) break;  // recorded elsewhere (another service's journal)
    parent = p.front().causation_id;
    out.causes.push_back(std::move(p.front()));
  }
  REPRISE_ASSIGN_OR_RETURN(out.effects, select("causation_id", id, false, kMaxLineageRows));
  REPRISE_ASSIGN_OR_RETURN(out.copies, select("origin_id", id, false, kMaxLineageRows));
  return out;
}

}  // namespace reprise
