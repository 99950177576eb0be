// The lineage walk both journal backends answer Journal::Get with, over a
// primitive each backend gives: the messages whose `column` (id,
// causation_id or origin_id) equals a value. Internal to store/.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "reprise/store/journal.h"

namespace reprise {

// The messages whose `column` equals `value`, in id order, at most `limit`,
// with their payloads when `with_payload`.
using SelectMessagesWhere = std::function<StatusOr<std::vector<Message>>(
    std::string_view column, std::string_view value, bool with_payload, int limit)>;

// The message `id` with its payload, its causes (up the causation chain),
// effects and reflowed copies; NOT_FOUND names the id.
StatusOr<MessageLineage> ReadLineage(std::string_view id, const SelectMessagesWhere& select);

}  // namespace reprise
