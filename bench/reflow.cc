// Reflow into a handler that does nothing, against a loop that reads the
// same rows from the journal: what the engine costs per message.
#include <thread>

#include "agent_core.h"
#include "bench.h"
#include "reprise/agent/agent.h"
#include "reprise/reflow/engine.h"

namespace reprise::bench {

void RunReflow(const Settings& s, Report& r) {
  const uint64_t n = s.Count(200000, 50000, 2000);
  auto agent = Agent::Start({.service = "bench",
                             .journal = "sqlite:" + Scratch(s, "reflow.journal"),
                             .listen = "",
                             .resume_jobs_after = std::chrono::hours(1)});
  if (!agent.ok()) {
    std::fprintf(stderr, "bench: %s\n", agent.status().ToString().c_str());
    return;
  }
  auto* core = dynamic_cast<AgentCore*>(agent->get());
  (*agent)->Handle("bench.noop", [](const Message&, Context&) { return Status::Ok(); });
  RowSource src(256, 10000, 5);
  for (uint64_t i = 0; i < n; ++i) {
    (void)(*agent)->RecordInbound("bench.noop", src.Key(), src.Payload(i));
  }
  (void)(*agent)->Flush();
  const std::string filter = "channel = \"bench.noop\"";

  // Baseline: read the same rows, with payloads, page by page.
  auto t0 = Clock::now();
  uint64_t read = 0;
  ListQuery q{.filter = filter, .page_size = 1000, .with_payload = true, .oldest_first = true};
  while (true) {
    auto page = core->journal().List(q);
    if (!page.ok()) {
      std::fprintf(stderr, "bench: %s\n", page.status().ToString().c_str());
      return;
    }
    read += page->messages.size();
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  const double read_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double read_rate = static_cast<double>(read) / read_s;

  t0 = Clock::now();
  auto job = core->reflow().Start({.filter = filter, .reason = "bench"});
  if (!job.ok()) {
    std::fprintf(stderr, "bench: %s\n", job.status().ToString().c_str());
    return;
  }
  JobRecord done;
  while (true) {
    auto p = core->reflow().Progress(job->id);
    if (p.ok() && IsFinal(p->job.state)) {
      done = p->job;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (void)(*agent)->Flush();
  const double reflow_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double rate = static_cast<double>(done.done) / reflow_s;
  if (done.done != n) {
    std::fprintf(stderr, "bench: reflow did %llu of %llu messages\n",
                 static_cast<unsigned long long>(done.done), static_cast<unsigned long long>(n));
  }
  r.Add({.section = "reflow",
         .name = "reflow into a no-op handler, " + std::to_string(n) + " messages",
         .unit = "msg/s",
         .value = rate,
         .baseline = read_rate,
         .baseline_name = "reading the rows",
         .target = ">= 50,000 msg/s",
         .met = rate >= 50000});
  r.Add({.section = "reflow",
         .name = "reflow overhead per message over reading it",
         .unit = "ns",
         .value = 1e9 / rate - 1e9 / read_rate});
}

}  // namespace reprise::bench
