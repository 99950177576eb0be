// The journal: where every message, job, flow and audit record is stored,
// and the fleet's registry of instances.
//
// Journal is the storage backend: synchronous, transactional, safe to call
// from several threads (each backend serializes what it must). Callers on a
// service's hot path do not write to it directly: they go through a Recorder
// (recorder.h), which queues records and writes them in groups.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reprise/base/export.h"
#include "reprise/base/status.h"
#include "reprise/store/change_feed.h"
#include "reprise/store/message.h"

namespace reprise {

// A change to the outcome of a recorded message: the system's own report of
// how handling or sending ended. Never an operator edit.
struct OutcomeUpdate {
  std::string id;
  Outcome outcome = Outcome::kOk;
  std::string error;
  std::string flow_variant;  // set when a flow decided the handling
};

// One group commit: written in a single transaction, all or nothing.
struct REPRISE_EXPORT WriteBatch {
  std::vector<Message> messages;
  std::vector<OutcomeUpdate> outcomes;  // applied after `messages`
  bool empty() const { return messages.empty() && outcomes.empty(); }
};

struct ListQuery {
  std::string filter;      // filter language; empty selects everything
  uint32_t page_size = 50;  // clamped to [1, kMaxPageSize]
  std::string page_token;  // from the previous page's next_page_token
  bool with_payload = false;
  bool oldest_first = false;  // default: newest first
  bool originals_only = false;  // leave out reflowed copies (origin set)
};
inline constexpr uint32_t kMaxPageSize = 1000;
// Journal::Attempts reads no more than this many attempts of a delivery.
inline constexpr int kMaxAttempts = 1000;

struct MessagePage {
  std::vector<Message> messages;
  std::string next_page_token;  // empty on the last page
};

// A message with its lineage.
struct MessageLineage {
  Message message;                // with payload
  std::vector<Message> causes;    // parent first, then its parent, ... (no payloads)
  std::vector<Message> effects;   // messages whose causation is this one
  std::vector<Message> copies;    // reflowed copies (origin = this one)
};

struct CountRow {
  std::string group;  // value of the group-by field ("" without group-by)
  uint64_t count = 0;
};

struct ChannelInfo {
  std::string channel;
  Direction direction = Direction::kIn;
  uint64_t messages = 0;
  uint64_t failed = 0;
  uint64_t unresolved = 0;  // failed and not resolved
};

class AuditStore;  // audit.h
class FlowStore;   // flow.h
class InstanceStore;  // instance.h
class JobStore;    // job.h

// The span of a journal's messages.
struct JournalExtent {
  int64_t oldest_us = 0;  // the oldest message's record time; 0: no messages
  uint64_t bytes = 0;     // space in use by the journal (SQLite: pages not free; PostgreSQL: the
                          // messages partitions with their indexes)
};

class REPRISE_EXPORT Journal {
 public:
  // Opens the journal named by `url`:
  //   sqlite:PATH            (the embedded default; the file is created)
  //   sqlite::memory:        (tests)
  //   postgresql://...       (a libpq URL; shared by a fleet; docs/fleet.md)
  // The schema is created or migrated to the current version.
  static StatusOr<std::unique_ptr<Journal>> Open(std::string_view url);

  virtual ~Journal() = default;

  // "sqlite" or "postgresql", and where.
  virtual std::string Describe() const = 0;
  virtual int SchemaVersion() const = 0;

  // Writes a batch in one transaction. With `sync`, the commit is also
  // flushed to stable storage (survives power loss), not just to the OS.
  virtual Status Write(const WriteBatch& batch, bool sync) = 0;

  // Messages matching query.filter, one page at a time (keyset paging by id).
  virtual StatusOr<MessagePage> List(const ListQuery& query) = 0;
  // One message with payload and lineage; NOT_FOUND names the id.
  virtual StatusOr<MessageLineage> Get(std::string_view id) = 0;
  // Counts messages matching `filter`, grouped by `group_by` ("" = one row).
  virtual StatusOr<std::vector<CountRow>> Count(std::string_view filter,
                                                std::string_view group_by) = 0;
  // Every channel seen, with counts.
  virtual StatusOr<std::vector<ChannelInfo>> Channels() = 0;
  // Distinct keys of the messages matching `filter`, sorted; at most `max`
  // (RESOURCE_EXHAUSTED when there are more).
  virtual StatusOr<std::vector<std::string>> Keys(std::string_view filter, size_t max) = 0;
  // The attempts of one transport delivery: the messages of `channel` whose
  // kTransportIdHeader is `transport_id`, oldest first, without payloads
  // (indexed; at most kMaxAttempts).
  virtual StatusOr<std::vector<Message>> Attempts(std::string_view channel, std::string_view transport_id) = 0;

  // Retention: deletes the messages of every UTC day that ends at or before
  // `cutoff_us` (whole days only: a day partly after the cutoff is kept) and
  // returns how many messages went. PostgreSQL drops the days' partitions;
  // SQLite deletes their rows.
  virtual StatusOr<uint64_t> DropBefore(int64_t cutoff_us) = 0;
  // Retention in small steps, holding the writer briefly: removes at most
  // `max_messages` of the oldest messages, all recorded before `cutoff_us`,
  // and returns how many went. SQLite deletes a run of the oldest rows (later
  // writes reuse their pages, so the file stops growing); PostgreSQL drops
  // the whole day partitions that end by the cutoff, whatever their size.
  virtual StatusOr<uint64_t> RemoveOldest(int64_t cutoff_us, size_t max_messages) = 0;
  // What retention looks at: the oldest message and the space messages take.
  virtual StatusOr<JournalExtent> Extent() = 0;

  // Jobs (reflows) kept in the same journal; see job.h.
  virtual JobStore& jobs() = 0;
  // The audit trail kept in the same journal; see audit.h.
  virtual AuditStore& audit() = 0;
  // Flows (declarations, assignments, history) kept in the same journal; see flow.h.
  virtual FlowStore& flows() = 0;
  // The fleet's registry of agent instances sharing this journal; see instance.h.
  virtual InstanceStore& instances() = 0;
  // A feed that tells this process at once about changes other processes
  // make to flows and jobs, not started yet; null when the backend has none
  // (SQLite: processes poll). See change_feed.h.
  virtual std::unique_ptr<ChangeFeed> NewChangeFeed() { return nullptr; }
};

}  // namespace reprise
