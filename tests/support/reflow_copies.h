// Reading back what a reflow job wrote, for the integration tests that kill
// hosts in the middle of one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reprise/store/journal.h"

namespace reprise::testing {

// The copies job `job_id` wrote on `channel`, grouped by the message each
// copies (its origin id), every page of them.
inline StatusOr<std::map<std::string, std::vector<Message>>> CopiesByOrigin(Journal& journal,
                                                                          const std::string& job_id,
                                                                          const std::string& channel) {
  std::map<std::string, std::vector<Message>> copies;
  ListQuery q{.filter = "job = " + job_id + " and channel = \"" + channel + "\"", .page_size = 1000};
  while (true) {
    REPRISE_ASSIGN_OR_RETURN(auto page, journal.List(q));
    for (Message& m : page.messages) copies[m.origin_id].push_back(std::move(m));
    if (page.next_page_token.empty()) return copies;
    q.page_token = page.next_page_token;
  }
}

}  // namespace reprise::testing
