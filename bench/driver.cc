// reprise-bench: the load driver. Runs every section, prints the figures as
// it goes and writes OUT/bench.json and OUT/bench.md. See docs/performance.md.
//
//   reprise-bench [--quick | --smoke] [--dir DIR] [--out DIR] [--only SECTION,...]
// Sections: capture, queries, throughput, postgres (the PostgreSQL row of
// throughput alone), reflow, retention, memory, http, amqp.
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "bench.h"
#include "sqlite/connections.h"

namespace {

std::string Machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream mem("/proc/meminfo");
  std::string key;
  unsigned long long kb = 0;
  mem >> key >> kb;
  return std::to_string(std::thread::hardware_concurrency()) + " cores (" + model + "), " +
         std::to_string(kb / (1024 * 1024)) + " GiB RAM, shared with other sessions";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace reprise::bench;
  // As the journal's first open does, before any section: the raw SQLite
  // baselines, which may run first, then run under the same configuration.
  reprise::sqlite::TurnOffMemoryStatistics();
  if (argc > 1 && std::strcmp(argv[1], "--overload-child") == 0) return OverloadChild(argc, argv);
  Settings s{.dir = "build-bench", .out = ""};
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len > 0) s.self.assign(self, static_cast<size_t>(len));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") s.size = Size::kQuick;
    else if (a == "--smoke") s.size = Size::kSmoke;
    else if (a == "--dir" && i + 1 < argc) s.dir = argv[++i];
    else if (a == "--out" && i + 1 < argc) s.out = argv[++i];
    else if (a == "--only" && i + 1 < argc) s.only = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: reprise-bench [--quick | --smoke] [--dir DIR] [--out DIR] [--only SECTION,...]\n"
                   "  sections: capture, queries, throughput, postgres, reflow, retention, memory, http, amqp\n");
      return 2;
    }
  }
  if (s.out.empty()) s.out = s.dir + "/results";
  const char* mode = s.size == Size::kFull ? "full" : s.size == Size::kQuick ? "quick" : "smoke";
  std::printf("reprise-bench (%s) on %s\n", mode, Machine().c_str());

  Report report;
  double async_rate = 0;
  // --only takes a comma-separated list of sections.
  auto want = [&](const std::string& section) {
    return s.only.empty() || ("," + s.only + ",").find("," + section + ",") != std::string::npos;
  };
  if (want("capture")) { std::printf("capture\n"); RunCapture(s, report); }
  if (want("queries")) { std::printf("queries\n"); RunQueries(s, report); }
  if (want("throughput")) { std::printf("throughput\n"); RunThroughput(s, report, &async_rate); }
  // "postgres" selects the PostgreSQL row of the throughput section alone.
  if (want("throughput") || want("postgres")) {
    std::printf("throughput on PostgreSQL\n");
    RunPostgres(s, report);
  }
  if (want("reflow")) { std::printf("reflow\n"); RunReflow(s, report); }
  if (want("retention")) { std::printf("retention\n"); RunRetention(s, report); }
  if (want("memory")) { std::printf("memory\n"); RunMemory(s, report, async_rate); }
  if (want("http")) { std::printf("http\n"); RunHttp(s, report); }
  if (want("amqp")) { std::printf("amqp\n"); RunAmqp(s, report); }

  reprise::Status st = report.Write(s.out, Machine(), mode);
  if (!st.ok()) {
    std::fprintf(stderr, "reprise-bench: %s\n", st.ToString().c_str());
    return 1;
  }
  // Every section must have produced its figures; a section that failed
  // printed why above.
  size_t measured = 0;
  for (const auto& f : report.figures()) measured += !std::isnan(f.value);
  std::printf("wrote %s/bench.json and %s/bench.md (%zu figures)\n", s.out.c_str(), s.out.c_str(),
              measured);
  return measured == 0 ? 1 : 0;
}
