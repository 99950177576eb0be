// Change feeds: how a process learns at once that another process of the
// fleet changed something it caches (flows, job states), instead of waiting
// for its next poll. PostgreSQL has one (LISTEN/NOTIFY); SQLite has none,
// and its processes rely on polling alone.
//
// A feed is best effort: a notification sent while the feed is disconnected
// is lost. Polling therefore stays on everywhere; the feed only shortens the
// wait, and after every (re)connection it reports every topic once, since
// something may have changed while it was away.
#pragma once

#include <functional>

#include "reprise/base/export.h"
#include "reprise/base/status.h"

namespace reprise {

enum class ChangeTopic {
  kFlows,  // a flow's declaration, default, rollout or assignments changed
  kJobs,   // a job's state changed (cancelled, stopped, completed, ...)
};

class REPRISE_EXPORT ChangeFeed {
 public:
  using Callback = std::function<void(ChangeTopic)>;
  // Stops listening; no callback runs once the destructor has returned.
  virtual ~ChangeFeed() = default;
  // Starts listening, on a connection and a thread of the feed's own, and
  // keeps reconnecting (with backoff) while the server is away. `on_change`
  // runs on the feed's thread: it must be quick and must not destroy the feed.
  virtual void Start(Callback on_change) = 0;
  // Whether the feed is listening right now (for health reports and tests).
  virtual bool connected() const = 0;
};

}  // namespace reprise
