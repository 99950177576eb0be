#include "sqlite/batch_table.h"

#include <new>
#include <string>
#include <string_view>

#include "json_text.h"
#include "sqlite/util.h"

namespace reprise::sqlite {
namespace {

enum Column {
  kId,
  kDirection,
  kChannel,
  kKey,
  kCorrelation,
  kCausation,
  kHeaders,
  kPayload,
  kContentType,
  kRecordedAt,
  kOutcome,
  kError,
  kAttempt,
  kOrigin,
  kJob,
  kFlowVariant,
  kPayloadSize,
  kOrdinal,
};

struct Table {
  sqlite3_vtab base;  // first: SQLite passes this struct as a sqlite3_vtab
  BatchRows* rows;
};

struct Cursor {
  sqlite3_vtab_cursor base;  // first, as above
  size_t at;
};

const BatchRows& RowsOf(sqlite3_vtab_cursor* c) { return *reinterpret_cast<Table*>(c->pVtab)->rows; }

size_t Size(const BatchRows& rows) { return rows.messages == nullptr ? 0 : rows.messages->size(); }

// The callbacks are called from SQLite's C code: no exception may leave
// them (an allocation that fails is SQLITE_NOMEM).
int Connect(sqlite3* db, void* aux, int, const char* const*, sqlite3_vtab** out, char**) try {
  int rc = sqlite3_declare_vtab(db, (std::string("CREATE TABLE x(") + kBatchColumns + ", ordinal HIDDEN)").c_str());
  if (rc != SQLITE_OK) return rc;
  auto* t = new Table{};
  t->rows = static_cast<BatchRows*>(aux);
  *out = &t->base;
  return SQLITE_OK;
} catch (const std::bad_alloc&) {
  return SQLITE_NOMEM;
}

int Disconnect(sqlite3_vtab* t) {
  delete reinterpret_cast<Table*>(t);
  return SQLITE_OK;
}

// Every statement reads the whole batch, in order.
int BestIndex(sqlite3_vtab* t, sqlite3_index_info* info) {
  const double rows = static_cast<double>(Size(*reinterpret_cast<Table*>(t)->rows));
  info->estimatedCost = rows;
  info->estimatedRows = static_cast<sqlite3_int64>(rows);
  return SQLITE_OK;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* c = new (std::nothrow) Cursor{};
  if (c == nullptr) return SQLITE_NOMEM;
  *out = &c->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* c) {
  delete reinterpret_cast<Cursor*>(c);
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* c, int, const char*, int, sqlite3_value**) {
  reinterpret_cast<Cursor*>(c)->at = 0;
  return SQLITE_OK;
}

int Next(sqlite3_vtab_cursor* c) {
  ++reinterpret_cast<Cursor*>(c)->at;
  return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* c) { return reinterpret_cast<Cursor*>(c)->at >= Size(RowsOf(c)); }

// The batch outlives the statement that reads it: SQLite may use the bytes
// in place.
void Text(sqlite3_context* ctx, std::string_view v) {
  sqlite3_result_text(ctx, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

void OptionalText(sqlite3_context* ctx, std::string_view v) {
  if (v.empty()) sqlite3_result_null(ctx);
  else Text(ctx, v);
}

int ColumnOf(sqlite3_vtab_cursor* c, sqlite3_context* ctx, int column) {
  const size_t at = reinterpret_cast<Cursor*>(c)->at;
  const Message& m = (*RowsOf(c).messages)[at];
  switch (column) {
    case kId: Text(ctx, m.id); break;
    case kDirection: sqlite3_result_int(ctx, static_cast<int>(m.direction)); break;
    case kChannel: Text(ctx, m.channel); break;
    case kKey: Text(ctx, m.key); break;
    case kCorrelation: OptionalText(ctx, m.correlation_id); break;
    case kCausation: OptionalText(ctx, m.causation_id); break;
    case kHeaders:
      if (m.headers.empty()) {
        sqlite3_result_null(ctx);
      } else {
        try {
          const std::string json = json::EncodeHeaders(m.headers);
          sqlite3_result_text(ctx, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
        } catch (const std::bad_alloc&) {
          sqlite3_result_error_nomem(ctx);
        }
      }
      break;
    case kPayload:
      sqlite3_result_blob(ctx, m.payload.data(), static_cast<int>(m.payload.size()), SQLITE_STATIC);
      break;
    case kContentType: OptionalText(ctx, m.content_type); break;
    case kRecordedAt: sqlite3_result_int64(ctx, m.recorded_at_us); break;
    case kOutcome: sqlite3_result_int(ctx, static_cast<int>(m.outcome)); break;
    case kError: OptionalText(ctx, m.error); break;
    case kAttempt: sqlite3_result_int64(ctx, m.attempt); break;
    case kOrigin: OptionalText(ctx, m.origin_id); break;
    case kJob: OptionalText(ctx, m.job_id); break;
    case kFlowVariant: OptionalText(ctx, m.flow_variant); break;
    case kPayloadSize: sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(m.payload.size())); break;
    case kOrdinal: sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(at)); break;
    default: sqlite3_result_null(ctx);
  }
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* c, sqlite3_int64* out) {
  *out = static_cast<sqlite3_int64>(reinterpret_cast<Cursor*>(c)->at);
  return SQLITE_OK;
}

// Eponymous only (no xCreate): the table exists on the connection, never in
// the schema, so a journal file stays readable by any SQLite.
const sqlite3_module kModule = {
    .iVersion = 0,
    .xCreate = nullptr,
    .xConnect = Connect,
    .xBestIndex = BestIndex,
    .xDisconnect = Disconnect,
    .xDestroy = Disconnect,
    .xOpen = Open,
    .xClose = Close,
    .xFilter = Filter,
    .xNext = Next,
    .xEof = Eof,
    .xColumn = ColumnOf,
    .xRowid = Rowid,
};

}  // namespace

Status RegisterBatchTable(sqlite3* db, BatchRows* rows) {
  if (int rc = sqlite3_create_module_v2(db, "reprise_batch", &kModule, rows, nullptr); rc != SQLITE_OK) {
    return SqliteError(db, rc, "register the batch table");
  }
  return Status::Ok();
}

}  // namespace reprise::sqlite
