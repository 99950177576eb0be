#include "rederive.h"

#include <mutex>

#include "diff.h"
#include "host_code.h"

namespace reprise {
namespace {

// "..." with \ and " escaped, for building a filter around a value.
std::string FilterString(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// A key's original inbound messages, oldest first, one journal page at a time.
class JournalInputs final : public Inputs {
 public:
  JournalInputs(Journal& journal, std::string_view key)
      : journal_(journal),
        query_{.filter = "key = " + FilterString(key) + " and direction = in",
               .page_size = 500,
               .with_payload = true,
               .oldest_first = true,
               .originals_only = true} {}

  bool Next(Message* out) override {
    while (next_ == page_.size()) {
      if (done_ || !status_.ok()) return false;
      auto page = journal_.List(query_);
      if (!page.ok()) {
        status_ = page.status().WithPrefix("reading the key's inputs");
        return false;
      }
      page_ = std::move(page->messages);
      next_ = 0;
      query_.page_token = page->next_page_token;
      done_ = query_.page_token.empty();
    }
    *out = std::move(page_[next_++]);
    return true;
  }
  const Status& status() const override { return status_; }

 private:
  Journal& journal_;
  ListQuery query_;
  std::vector<Message> page_;
  size_t next_ = 0;
  bool done_ = false;
  Status status_;
};

}  // namespace

void Rederiver::Derive(std::string_view name, std::string_view output_channel, Deriver fn) {
  std::unique_lock lock(mu_);
  derivers_[std::string(name)] = {std::string(output_channel), std::move(fn)};
}

std::vector<std::string> Rederiver::DeriverNames() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, d] : derivers_) out.push_back(name);
  return out;
}

StatusOr<RederiveOutcome> Rederiver::RederiveKey(std::string_view name, const std::string& key,
                                                 bool dry_run, const std::string& job_id) {
  std::string output_channel;
  Deriver deriver;
  {
    std::shared_lock lock(mu_);
    auto it = derivers_.find(name);
    if (it == derivers_.end()) {
      std::string names;
      for (const auto& [n, d] : derivers_) names += (names.empty() ? "" : ", ") + n;
      return NotFound("no deriver named \"" + std::string(name) + "\"; registered: " +
                      (names.empty() ? "none" : names));
    }
    output_channel = it->second.first;
    deriver = it->second.second;
  }
  RederiveOutcome result{.key = key};
  // The last output recorded for the key: what the new one is compared with.
  Message last;
  REPRISE_ASSIGN_OR_RETURN(auto page,
                           journal_->List({.filter = "key = " + FilterString(key) + " and channel = " +
                                                     FilterString(output_channel) + " and direction = out",
                                           .page_size = 1,
                                           .with_payload = true}));
  if (!page.messages.empty()) last = std::move(page.messages.front());
  result.before = last.payload;

  Message about;  // what ctx.message() shows a deriver
  about.direction = Direction::kOut;
  about.channel = output_channel;
  about.key = key;
  std::vector<Message> ignored;
  DeliveryContext ctx(about, &ignored, flows_);
  JournalInputs inputs(*journal_, key);
  StatusOr<std::string> out = std::string();
  Status st = Contain("deriver " + std::string(name), [&] {
    out = deriver(key, inputs, ctx);
    return out.ok() ? inputs.status() : out.status();
  });
  if (!st.ok()) {
    result.kind = RederiveOutcome::Kind::kFailed;
    result.error = st.message();
    return result;
  }
  if (Status size = capture_->CheckPayload(*out); !size.ok()) {
    result.kind = RederiveOutcome::Kind::kFailed;
    result.error = "deriver " + std::string(name) + " returned an output too large to record: " +
                   size.message();
    return result;
  }
  result.after = *out;
  result.diff = DiffOutputs(last.payload, result.after);
  if (!last.id.empty() && last.payload == result.after) {
    // This very job recorded that output before an instance died with the
    // key in flight: the key changed, and its output is already there.
    if (!job_id.empty() && last.job_id == job_id) {
      result.kind = RederiveOutcome::Kind::kChanged;
      result.output_id = last.id;
    }
    return result;
  }
  result.kind = RederiveOutcome::Kind::kChanged;
  if (last.id.empty()) result.diff = DiffOutputs("", result.after);
  if (dry_run) return result;

  Message m = capture_->NewMessage(Direction::kOut, output_channel, key, result.after,
                                   {.headers = {{"reprise-rederive", std::string(name)}},
                                    .correlation_id = last.correlation_id});
  if (!last.id.empty()) m.headers["reprise-supersedes"] = last.id;
  m.job_id = job_id;
  m.flow_variant = ctx.FlowVariant();
  result.output_id = m.id;
  auto sent = capture_->RecordAndSend(m);
  if (!sent.ok()) return sent.status().WithPrefix("the changed output could not be recorded");
  return result;
}

DispatchResult Rederiver::Rederive(const std::string& deriver, const std::string& key,
                                   const std::string& job_id, bool dry_run) {
  auto r = RederiveKey(deriver, key, dry_run, job_id);
  if (!r.ok()) return {"", Outcome::kFailed, r.status().message()};
  if (r->kind == RederiveOutcome::Kind::kFailed) return {"", Outcome::kFailed, r->error};
  return {r->output_id, Outcome::kOk, "", r->kind == RederiveOutcome::Kind::kChanged};
}

}  // namespace reprise
