// The audit trail: one record per operator action on the API (who, when,
// what, and how it ended). Append-only: no API changes or deletes a record,
// and the SQLite schema refuses UPDATE and DELETE on the table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

struct AuditRecord {
  std::string id;         // assigned by the store: "1", "2", ...
  int64_t at_us = 0;      // when the action ended
  std::string who;        // token name, or the peer address without tokens
  std::string action;     // API method: "StartReflow", "InvokeKnob", ...
  std::string request;    // the request as JSON
  StatusCode code = StatusCode::kOk;
  std::string result;     // "OK", or the error as sent: "INVALID_ARGUMENT: ..."
  std::string instance;   // agent instance that served it
};

struct AuditQuery {
  std::string action;       // exact, "" for any
  std::string who;          // exact, "" for any
  int64_t since_us = 0;     // 0 for any time
  bool failed_only = false; // only actions that did not end OK
  uint32_t limit = 50;      // newest first; at most 1000
  std::string page_token;   // from the previous page
};

struct AuditPage {
  std::vector<AuditRecord> records;
  std::string next_page_token;
};

// Thread-safe.
class REPRISE_EXPORT AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends a record (committed before returning); returns its id.
  virtual StatusOr<std::string> Append(const AuditRecord& record) = 0;
  virtual StatusOr<AuditPage> List(const AuditQuery& query) = 0;
};

}  // namespace reprise
