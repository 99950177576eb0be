#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench.h"
#include "reprise/store/journal.h"
#include "sqlite/key_runs.h"

namespace reprise::bench {
namespace fs = std::filesystem;

void Report::Add(Figure f) {
  std::printf("  %-58s %14s", (f.section + ": " + f.name).c_str(),
              f.note.empty() || !std::isnan(f.value) ? FormatValue(f.value, f.unit).c_str()
                                                     : f.note.c_str());
  if (!std::isnan(f.baseline)) {
    std::printf("  vs %s %s (x%.2f)", f.baseline_name.c_str(), FormatValue(f.baseline, f.unit).c_str(),
                f.value / f.baseline);
  }
  if (f.met) std::printf("  %s %s", f.target.c_str(), *f.met ? "met" : "MISSED");
  std::printf("\n");
  std::fflush(stdout);
  figures_.push_back(std::move(f));
}

std::string FormatValue(double v, const std::string& unit) {
  if (std::isnan(v)) return "-";
  char buf[64];
  if (unit == "ns") {
    if (v >= 1e6) std::snprintf(buf, sizeof buf, "%.2f ms", v / 1e6);
    else if (v >= 1e3) std::snprintf(buf, sizeof buf, "%.2f µs", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.0f ns", v);
  } else if (unit == "msg/s" || unit == "req/s") {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, unit.c_str());
  } else if (unit == "bytes") {
    std::snprintf(buf, sizeof buf, "%.1f MiB", v / (1024.0 * 1024.0));
  } else {
    std::snprintf(buf, sizeof buf, "%.3g %s", v, unit.c_str());
  }
  return buf;
}

namespace {
std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}
std::string JsonNumber(double v) {
  if (std::isnan(v)) return "null";
  std::ostringstream o;
  o.precision(6);
  o << v;
  return o.str();
}
}  // namespace

Status Report::Write(const std::string& dir, const std::string& machine,
                     const std::string& mode) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::ofstream json(dir + "/bench.json");
  std::ofstream md(dir + "/bench.md");
  if (!json || !md) return Unavailable("cannot write the report under " + dir);
  json << "{\n  \"machine\": " << JsonString(machine) << ",\n  \"mode\": " << JsonString(mode)
       << ",\n  \"figures\": [\n";
  for (size_t i = 0; i < figures_.size(); ++i) {
    const Figure& f = figures_[i];
    json << "    {\"section\": " << JsonString(f.section) << ", \"name\": " << JsonString(f.name)
         << ", \"unit\": " << JsonString(f.unit) << ", \"value\": " << JsonNumber(f.value)
         << ", \"baseline\": " << JsonNumber(f.baseline)
         << ", \"baseline_name\": " << JsonString(f.baseline_name)
         << ", \"ratio\": " << JsonNumber(f.value / f.baseline)
         << ", \"target\": " << JsonString(f.target) << ", \"met\": "
         << (f.met ? (*f.met ? "true" : "false") : "null") << ", \"note\": " << JsonString(f.note)
         << "}" << (i + 1 < figures_.size() ? "," : "") << "\n";
  }
  json << "  ]\n}\n";

  md << "Machine: " << machine << "; mode: " << mode << ".\n\n";
  md << "| section | figure | value | baseline | ratio | target | met |\n";
  md << "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const Figure& f : figures_) {
    std::string value = std::isnan(f.value) ? f.note : FormatValue(f.value, f.unit);
    std::string baseline =
        std::isnan(f.baseline) ? "" : FormatValue(f.baseline, f.unit) + " (" + f.baseline_name + ")";
    char ratio[32] = "";
    if (!std::isnan(f.value) && !std::isnan(f.baseline)) {
      std::snprintf(ratio, sizeof ratio, "%.2f", f.value / f.baseline);
    }
    std::string met = !f.met ? (f.target.empty() ? "" : "not measured") : *f.met ? "yes" : "**no**";
    md << "| " << f.section << " | " << f.name << " | " << value << " | " << baseline << " | "
       << ratio << " | " << f.target << " | " << met << " |\n";
  }
  return Status::Ok();
}

Latencies Summarize(std::vector<double>& ns) {
  Latencies l;
  l.samples = ns.size();
  if (ns.empty()) return l;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double p) { return ns[std::min(ns.size() - 1, static_cast<size_t>(p * ns.size()))]; };
  l.p50 = at(0.50);
  l.p99 = at(0.99);
  l.p999 = at(0.999);
  return l;
}

RowSource::RowSource(size_t payload_bytes, uint64_t keys, uint64_t seed)
    : rng_(seed), key_dist_(0, keys - 1) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (int p = 0; p < 64; ++p) {
    std::string s = "{\"amount\":" + std::to_string(p * 37 % 1000) + ",\"memo\":\"";
    while (s.size() + 2 < payload_bytes) s += kAlphabet[rng_() % (sizeof kAlphabet - 1)];
    s += "\"}";
    s.resize(payload_bytes, ' ');
    payloads_.push_back(std::move(s));
  }
  for (int c = 0; c < kChannels; ++c) channels_.push_back(ChannelName(c));
}

StatusOr<std::unique_ptr<RawInserter>> RawInserter::Open(const std::string& path) {
  auto r = std::make_unique<RawInserter>();
  if (sqlite3_open_v2(path.c_str(), &r->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return Unavailable("cannot open " + path + ": " + sqlite3_errmsg(r->db_));
  }
  sqlite3_busy_timeout(r->db_, 5000);
  REPRISE_RETURN_IF_ERROR(r->Exec("PRAGMA journal_mode=WAL"));
  REPRISE_RETURN_IF_ERROR(r->Exec("PRAGMA synchronous=NORMAL"));
  const char* sql =
      "INSERT INTO messages (id, direction, channel, message_key, correlation_id, "
      "causation_id, headers, payload, content_type, recorded_at, outcome, error, attempt, "
      "origin_id, job_id, flow_variant, payload_size) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";
  if (sqlite3_prepare_v2(r->db_, sql, -1, &r->insert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(r->db_, "INSERT INTO message_keys (run, message_key, seq) VALUES (?1, ?2, ?3)",
                         -1, &r->key_insert_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(r->db_, "INSERT OR IGNORE INTO key_runs VALUES (?1)", -1, &r->run_insert_,
                         nullptr) != SQLITE_OK) {
    return Unavailable(std::string("prepare insert: ") + sqlite3_errmsg(r->db_));
  }
  return r;
}

RawInserter::~RawInserter() {
  sqlite3_finalize(insert_);
  sqlite3_finalize(key_insert_);
  sqlite3_finalize(run_insert_);
  sqlite3_close_v2(db_);
}

Status RawInserter::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string e = err ? err : "?";
    sqlite3_free(err);
    return Unavailable(std::string(sql) + ": " + e);
  }
  return Status::Ok();
}

Status RawInserter::Insert(const Message& m) {
  auto text = [&](int i, const std::string& s) {
    if (s.empty()) sqlite3_bind_null(insert_, i);
    else sqlite3_bind_text(insert_, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  };
  sqlite3_reset(insert_);
  text(1, m.id);
  sqlite3_bind_int(insert_, 2, static_cast<int>(m.direction));
  text(3, m.channel);
  text(4, m.key);
  text(5, m.correlation_id);
  text(6, m.causation_id);
  sqlite3_bind_null(insert_, 7);
  sqlite3_bind_blob(insert_, 8, m.payload.data(), static_cast<int>(m.payload.size()), SQLITE_STATIC);
  text(9, m.content_type);
  sqlite3_bind_int64(insert_, 10, m.recorded_at_us);
  sqlite3_bind_int(insert_, 11, static_cast<int>(m.outcome));
  text(12, m.error);
  sqlite3_bind_int(insert_, 13, static_cast<int>(m.attempt));
  text(14, m.origin_id);
  text(15, m.job_id);
  text(16, m.flow_variant);
  sqlite3_bind_int64(insert_, 17, static_cast<int64_t>(m.payload.size()));
  int rc = sqlite3_step(insert_);
  if (rc != SQLITE_DONE) return Unavailable(std::string("insert: ") + sqlite3_errmsg(db_));
  const int64_t seq = sqlite3_last_insert_rowid(db_);
  const int64_t run = sqlite::KeyRun(sqlite::KeyRunLayout{}, 0, seq);
  if (run != last_run_) {
    sqlite3_reset(run_insert_);
    sqlite3_bind_int64(run_insert_, 1, run);
    if (sqlite3_step(run_insert_) != SQLITE_DONE) return Unavailable(std::string("insert run: ") + sqlite3_errmsg(db_));
    last_run_ = run;
  }
  sqlite3_reset(key_insert_);
  sqlite3_bind_int64(key_insert_, 1, run);
  sqlite3_bind_text(key_insert_, 2, m.key.data(), static_cast<int>(m.key.size()), SQLITE_STATIC);
  sqlite3_bind_int64(key_insert_, 3, seq);
  if (sqlite3_step(key_insert_) != SQLITE_DONE) return Unavailable(std::string("insert key: ") + sqlite3_errmsg(db_));
  return Status::Ok();
}

void Stamp(Message& m, UlidGenerator& ids) {
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  m.id = ids.Next(now / 1000);
  m.recorded_at_us = now;
  if (m.correlation_id.empty()) m.correlation_id = m.id;
}

std::string Scratch(const Settings& s, const std::string& name) {
  std::string path = s.dir + "/scratch/" + name;
  std::error_code ec;
  fs::create_directories(s.dir + "/scratch", ec);
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix, ec);
  return path;
}

uint64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Fixtures ----------------------------------------------------------------------

namespace {

struct FixtureMeta {
  uint64_t rows = 0;
  int64_t end_ms = 0;
  int64_t max_seq = 0;
};

bool ReadMeta(const std::string& path, FixtureMeta* m) {
  std::ifstream in(path + ".meta");
  return static_cast<bool>(in >> m->rows >> m->end_ms >> m->max_seq);
}

Status BuildFixture(const std::string& path, uint64_t rows, FixtureMeta* meta) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix, ec);
  {
    auto j = Journal::Open("sqlite:" + path);  // the schema, by the journal itself
    if (!j.ok()) return j.status();
  }
  REPRISE_ASSIGN_OR_RETURN(auto raw, RawInserter::Open(path));
  RawInserter& r = *raw;
  // Indexes are dropped during the load and built afterwards (much faster
  // than maintaining them row by row); the result is the same file.
  std::vector<std::string> indexes;
  {
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(r.db(),
                       "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                       "tbl_name = 'messages' AND sql IS NOT NULL",
                       -1, &q, nullptr);
    std::vector<std::string> names;
    while (sqlite3_step(q) == SQLITE_ROW) {
      names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
      indexes.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(q, 1)));
    }
    sqlite3_finalize(q);
    for (const auto& n : names) REPRISE_RETURN_IF_ERROR(r.Exec(("DROP INDEX " + n).c_str()));
  }
  REPRISE_RETURN_IF_ERROR(r.Exec("PRAGMA synchronous=OFF"));
  REPRISE_RETURN_IF_ERROR(r.Exec("PRAGMA cache_size=-262144"));

  // Ten days of traffic ending now: 8 channels, a key out of rows/10, one
  // message in five outbound (caused by the previous inbound), 2% failed.
  RowSource src(256, std::max<uint64_t>(rows / 10, 1), 42);
  UlidGenerator ids;
  const int64_t end_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t span_ms = 10LL * 24 * 3600 * 1000;
  std::mt19937_64 rng(7);
  std::string last_in;
  REPRISE_RETURN_IF_ERROR(r.Exec("BEGIN"));
  for (uint64_t i = 0; i < rows; ++i) {
    Message m;
    const int64_t ms = end_ms - span_ms + static_cast<int64_t>(i * span_ms / rows);
    m.id = ids.Next(ms);
    m.recorded_at_us = ms * 1000 + static_cast<int64_t>(rng() % 1000);
    m.direction = (rng() % 5 == 0 && !last_in.empty()) ? Direction::kOut : Direction::kIn;
    m.channel = src.Channel(rng());
    m.key = src.Key();
    if (m.direction == Direction::kOut) {
      m.causation_id = last_in;
      m.correlation_id = last_in;
    } else {
      m.correlation_id = m.id;
      last_in = m.id;
    }
    m.payload = src.Payload(i);
    m.content_type = "application/json";
    if (rng() % 50 == 0) {
      m.outcome = Outcome::kFailed;
      m.error = "downstream timed out";
    } else {
      m.outcome = Outcome::kOk;
    }
    REPRISE_RETURN_IF_ERROR(r.Insert(m));
    if ((i + 1) % 200000 == 0) {
      REPRISE_RETURN_IF_ERROR(r.Exec("COMMIT"));
      REPRISE_RETURN_IF_ERROR(r.Exec("BEGIN"));
      std::printf("    fixture %s: %llu rows\r", path.c_str(), static_cast<unsigned long long>(i + 1));
      std::fflush(stdout);
    }
  }
  REPRISE_RETURN_IF_ERROR(r.Exec("COMMIT"));
  std::printf("\n    building %zu indexes\n", indexes.size());
  for (const auto& sql : indexes) REPRISE_RETURN_IF_ERROR(r.Exec(sql.c_str()));
  // The key entries went into level-0 runs; merge them the way a journal
  // that had been running would have.
  std::printf("    merging key runs\n");
  while (true) {
    REPRISE_ASSIGN_OR_RETURN(auto moved, sqlite::CompactKeyRuns(r.db(), sqlite::KeyRunLayout{}));
    if (moved == 0) break;
  }
  REPRISE_RETURN_IF_ERROR(r.Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  meta->rows = rows;
  meta->end_ms = end_ms;
  meta->max_seq = static_cast<int64_t>(rows);
  return Status::Ok();
}

}  // namespace

StatusOr<std::string> Fixture(const Settings& s, uint64_t rows, int64_t* end_ms) {
  std::error_code ec;
  fs::create_directories(s.dir + "/fixtures", ec);
  const std::string path = s.dir + "/fixtures/messages-" + std::to_string(rows) + ".journal";
  FixtureMeta meta;
  if (!ReadMeta(path, &meta) || !fs::exists(path)) {
    std::printf("  building fixture %s (%llu messages, once; cached for later runs)\n",
                path.c_str(), static_cast<unsigned long long>(rows));
    const std::string building = path + ".building";
    auto start = Clock::now();
    REPRISE_RETURN_IF_ERROR(BuildFixture(building, rows, &meta));
    fs::rename(building, path, ec);
    if (ec) return Unavailable("rename " + building + ": " + ec.message());
    for (const char* suffix : {"-wal", "-shm"}) fs::remove(building + suffix, ec);
    std::ofstream(path + ".meta") << meta.rows << " " << meta.end_ms << " " << meta.max_seq << "\n";
    std::printf("  fixture built in %.0f s\n",
                std::chrono::duration<double>(Clock::now() - start).count());
  }
  if (end_ms) *end_ms = meta.end_ms;
  {
    // A fixture built by an older build gets the current schema the way any
    // journal does (once; e.g. a new index over its rows).
    REPRISE_ASSIGN_OR_RETURN(auto j, Journal::Open("sqlite:" + path));
  }
  REPRISE_RETURN_IF_ERROR(TrimFixture(path));
  return path;
}

Status TrimFixture(const std::string& path) {
  FixtureMeta meta;
  if (!ReadMeta(path, &meta)) return FailedPrecondition("no fixture metadata for " + path);
  REPRISE_ASSIGN_OR_RETURN(auto raw, RawInserter::Open(path));
  REPRISE_RETURN_IF_ERROR((raw)->Exec("BEGIN IMMEDIATE"));
  REPRISE_RETURN_IF_ERROR(
      sqlite::DeleteKeyEntries((raw)->db(), sqlite::KeyRunLayout{}, "seq > ?1", meta.max_seq));
  REPRISE_RETURN_IF_ERROR(
      (raw)->Exec(("DELETE FROM messages WHERE seq > " + std::to_string(meta.max_seq)).c_str()));
  const bool trimmed = sqlite3_changes((raw)->db()) > 0;
  REPRISE_RETURN_IF_ERROR((raw)->Exec("COMMIT"));
  if (trimmed) {
    REPRISE_RETURN_IF_ERROR((raw)->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  return Status::Ok();
}

StatusOr<std::string> WorkingCopy(const Settings& s, const std::string& fixture) {
  {
    // Everything in the main file, so that the copy needs no WAL.
    REPRISE_ASSIGN_OR_RETURN(auto raw, RawInserter::Open(fixture));
    REPRISE_RETURN_IF_ERROR((raw)->Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  const std::string copy = Scratch(s, fs::path(fixture).filename().string());
  std::error_code ec;
  fs::copy_file(fixture, copy, ec);
  if (ec) return Unavailable("copy " + fixture + " to " + copy + ": " + ec.message());
  return copy;
}

void RemoveJournal(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix, ec);
}

Status ReadIntoCache(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable("cannot read " + path);
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
  }
  return Status::Ok();
}

}  // namespace reprise::bench
