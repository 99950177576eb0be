#include "reprise/fleet/registry.h"

#include "reprise/store/instance.h"

namespace reprise::fleet {

ReadResult ReadLiveInstances(const std::string& url, const std::string& service) {
  auto live = reprise::ReadLiveInstances(url, service);
  if (!live.ok()) return {{}, live.status().message()};
  ReadResult out;
  for (InstanceRecord& i : *live) {
    out.instances.push_back({std::move(i.id), std::move(i.service), std::move(i.host), i.pid, std::move(i.address),
                             std::move(i.agent_version), i.started_at_us, i.heartbeat_at_us});
  }
  return out;
}

}  // namespace reprise::fleet
