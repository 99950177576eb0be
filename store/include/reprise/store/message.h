// The record at the heart of Reprise: one message crossing the process boundary.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "reprise/base/export.h"

namespace reprise {

enum class Direction : int { kIn = 1, kOut = 2 };
enum class Outcome : int { kPending = 1, kOk = 2, kFailed = 3, kSkipped = 4 };
// The outcomes' names, by value from 1: the one table behind OutcomeName,
// ParseOutcome, the filter language and the journal's SQL.
inline constexpr std::string_view kOutcomeNames[] = {"pending", "ok", "failed", "skipped"};

// "in"/"out" and "pending"/"ok"/"failed"/"skipped": the spelling used by the
// filter language, the console and the docs.
REPRISE_EXPORT std::string_view DirectionName(Direction d);
REPRISE_EXPORT std::string_view OutcomeName(Outcome o);
REPRISE_EXPORT std::optional<Direction> ParseDirection(std::string_view s);
REPRISE_EXPORT std::optional<Outcome> ParseOutcome(std::string_view s);

using Headers = std::map<std::string, std::string, std::less<>>;

// The header holding a transport's own id for an inbound delivery (an AMQP
// message_id): the journal indexes it by channel (Journal::Attempts), so that
// a redelivery is recorded as a further attempt of the first delivery.
inline constexpr std::string_view kTransportIdHeader = "reprise-transport-id";

struct Message {
  std::string id;  // ULID: sortable by record time, unique across a fleet
  Direction direction = Direction::kIn;
  std::string channel;         // payments.received
  std::string key;             // account:42
  std::string correlation_id;  // shared by everything one request caused
  std::string causation_id;    // the message that caused this one
  Headers headers;
  std::string payload;  // bytes; may be left out by journal reads (lists)
  uint64_t payload_size = 0;  // set by journal reads, with or without the payload
  std::string content_type;
  int64_t recorded_at_us = 0;  // microseconds since the Unix epoch
  Outcome outcome = Outcome::kPending;
  std::string error;  // set when outcome is failed
  uint32_t attempt = 1;
  std::string origin_id;  // set on reflowed copies: the message replayed
  std::string job_id;     // set on records a job produced
  std::string flow_variant;  // the variant that handled it, when a flow applied
  // Set by the journal when the message is resolved: the id of the later
  // message that resolved it (a reflowed copy, or a copy of a copy, that
  // ended ok; or a re-derived output that superseded it and ended ok).
  std::string resolved_by;
};

}  // namespace reprise
