// How messages look in the console: rows of `find`, the page of `show`, the
// payload rendering. Pure functions over API messages; thread-safe.
#pragma once

#include <string>

#include "reprise/console/output.h"
#include "reprise/console/table.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::console {

// "in", "out"; "" when unspecified.
std::string DirectionName(v1::Direction direction);
// "pending", "ok", "failed", "skipped"; "" when unspecified.
std::string OutcomeName(v1::Outcome outcome);
Style OutcomeStyle(v1::Outcome outcome);

// An empty table with the columns of a message list: id, recorded (UTC),
// dir, channel, key, outcome, error.
Table MessageTable();
void AddMessageRow(Table& table, const v1::Message& message);

// The payload for people: indented JSON when it parses as JSON, text for a
// text/* content type that is printable, else a hex dump.
std::string RenderPayload(const std::string& payload, const std::string& content_type);

// Everything `show` prints: fields, headers, lineage and payload.
std::string RenderMessageDetail(const v1::GetMessageResponse& response, const Output& output);

}  // namespace reprise::console
