// The load driver's shared parts: run settings, the report (JSON and a
// markdown table), the rows every figure writes, a raw SQLite inserter for
// the baselines, and latency statistics. See docs/performance.md.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "reprise/base/status.h"
#include "reprise/base/ulid.h"
#include "reprise/store/message.h"

namespace reprise::bench {

using Clock = std::chrono::steady_clock;

enum class Size { kSmoke, kQuick, kFull };

struct Settings {
  Size size = Size::kFull;
  std::string dir;      // fixtures and scratch journals (build-bench/)
  std::string out;      // where bench.json and bench.md go
  std::string self;     // this binary, for child processes
  std::string only;     // run only the sections whose name contains this
  double Seconds(double full, double quick, double smoke) const {
    return size == Size::kFull ? full : size == Size::kQuick ? quick : smoke;
  }
  uint64_t Count(uint64_t full, uint64_t quick, uint64_t smoke) const {
    return size == Size::kFull ? full : size == Size::kQuick ? quick : smoke;
  }
};

// One line of the table. `baseline` is a figure measured in the same run;
// ratio = value / baseline. `met` is empty when there is no target.
struct Figure {
  std::string section;
  std::string name;
  std::string unit;  // "ns", "ms", "msg/s", "req/s", "bytes", "us"
  double value = NAN;
  double baseline = NAN;
  std::string baseline_name;
  std::string target;  // as text: "<= 200 ns"
  std::optional<bool> met;
  std::string note;    // "not measured: ..." and the like
};

class Report {
 public:
  void Add(Figure f);
  const std::vector<Figure>& figures() const { return figures_; }
  // Writes DIR/bench.json and DIR/bench.md.
  Status Write(const std::string& dir, const std::string& machine, const std::string& mode) const;

 private:
  std::vector<Figure> figures_;
};

std::string FormatValue(double v, const std::string& unit);

// Latency samples in nanoseconds.
struct Latencies {
  double p50 = 0, p99 = 0, p999 = 0;
  size_t samples = 0;
};
Latencies Summarize(std::vector<double>& ns);

// The messages every figure writes, shaped like Agent::RecordInbound's: a
// JSON payload of `payload_bytes`, one of 8 channels, a key out of `keys`.
class RowSource {
 public:
  RowSource(size_t payload_bytes, uint64_t keys, uint64_t seed);
  const std::string& Payload(uint64_t i) const { return payloads_[i % payloads_.size()]; }
  const std::string& Channel(uint64_t i) const { return channels_[i % channels_.size()]; }
  // A random key ("account:N"); the per-key index sees random inserts.
  std::string Key() { return "account:" + std::to_string(key_dist_(rng_)); }
  static std::string ChannelName(int c) { return "bench.c" + std::to_string(c); }
  static constexpr int kChannels = 8;

 private:
  std::vector<std::string> payloads_;
  std::vector<std::string> channels_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<uint64_t> key_dist_;
};

// Prepared INSERTs into a journal file's messages table, written by hand:
// the baseline for capture (one autocommit INSERT per message) and for
// throughput (large transactions). Same statements as the SQLite journal:
// the row, then its key entry in its level-0 run (schema v8, 2^14 seqs per
// run; store/sqlite/key_runs.h). Merging runs is left to the caller (the
// throughput baseline merges as the journal does).
class RawInserter {
 public:
  // The file must already hold the schema (open it with Journal::Open first).
  static StatusOr<std::unique_ptr<RawInserter>> Open(const std::string& path);
  ~RawInserter();
  Status Exec(const char* sql);
  Status Insert(const Message& m);
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* key_insert_ = nullptr;
  sqlite3_stmt* run_insert_ = nullptr;
  int64_t last_run_ = -1;
};

// Fills id, recorded_at and correlation as the agent does.
void Stamp(Message& m, UlidGenerator& ids);

// Creates (or reuses) a journal fixture of `rows` messages under
// settings.dir and returns its path; `end_ms` receives the record time of its
// newest message. Built once, cached on disk, reused by later runs.
StatusOr<std::string> Fixture(const Settings& s, uint64_t rows, int64_t* end_ms);
// Removes rows appended to a fixture after it was built.
Status TrimFixture(const std::string& path);
// A copy of a fixture under settings.dir/scratch, for a section that writes:
// rows deleted again would leave free pages that later inserts reuse, and
// each run would start from a different file.
StatusOr<std::string> WorkingCopy(const Settings& s, const std::string& fixture);
// Deletes a journal file with its -wal and -shm.
void RemoveJournal(const std::string& path);
// Reads a file once, so that the OS caches it (for "warm cache" figures).
Status ReadIntoCache(const std::string& path);

// A fresh journal path under settings.dir (any old file removed).
std::string Scratch(const Settings& s, const std::string& name);

// Sections: each adds its figures to the report.
void RunCapture(const Settings& s, Report& r);
void RunThroughput(const Settings& s, Report& r, double* async_rate);
// PostgreSQL appends against COPY (a row of the throughput section).
void RunPostgres(const Settings& s, Report& r);
void RunQueries(const Settings& s, Report& r);
void RunReflow(const Settings& s, Report& r);
// RabbitMQ through the agent against a raw rabbitmq-c loop (bench/amqp.cc).
void RunAmqp(const Settings& s, Report& r);
// HTTP requests/s through reprise_http's endpoint against it without recording.
void RunHttp(const Settings& s, Report& r);
void RunMemory(const Settings& s, Report& r, double journal_rate);
// Recording with and without a retention policy, and the file's growth.
void RunRetention(const Settings& s, Report& r);
// The child process of RunMemory.
int OverloadChild(int argc, char** argv);

// Resident set size of this process, in bytes.
uint64_t RssBytes();

}  // namespace reprise::bench
