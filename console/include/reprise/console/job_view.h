// How jobs, reflow dry runs, audit records and flows look in the console.
// Pure functions over API messages; thread-safe.
#pragma once

#include <string>

#include "reprise/console/output.h"
#include "reprise/console/table.h"
#include "reprise/v1/agent.pb.h"

namespace reprise::console {

// "running", "cancelling", "cancelled", "completed", "stopped".
std::string JobStateName(v1::JobState state);
// "self", "downstream".
std::string TargetName(v1::ReflowTarget target);
// "reflow self", "reflow downstream", "rederive balance" (+ " (dry run)").
std::string JobKind(const v1::Job& job);
// True once a job can no longer change.
bool JobEnded(v1::JobState state);

// The `jobs` table: id, state, kind, done/total, failed, redelivered,
// created, filter, reason.
Table JobTable();
void AddJobRow(Table& table, const v1::Job& job);

// One line of live progress, at most `width` columns:
// "job 3  [#########.........]  120/500  24%  failed 3  42.0/s  ETA 9s".
std::string RenderProgressLine(const v1::JobProgress& progress, size_t width);
// The line printed when a job has ended:
// "job 3 completed: 500 of 500 replayed, 3 failed, 0 redelivered".
std::string RenderJobSummary(const v1::Job& job);

// What `reflow ... dry-run` prints: counts, by channel, by outcome, a sample.
std::string RenderDryRun(const v1::DryRunSummary& summary, v1::ReflowTarget target,
                         const Output& output);

}  // namespace reprise::console
