#include "ledger.h"

#include <cstdio>

namespace reprise::demo {
namespace {

// The demo writes its own payloads, so a field lookup is enough here; a real
// service would use its JSON library.
std::string JsonField(std::string_view json, std::string_view field) {
  std::string needle = "\"" + std::string(field) + "\":\"";
  size_t start = json.find(needle);
  if (start == std::string_view::npos) return "";
  start += needle.size();
  size_t end = json.find('"', start);
  if (end == std::string_view::npos) return "";
  return std::string(json.substr(start, end - start));
}

}  // namespace

Ledger::Ledger(LedgerOptions options)
    : options_(options), rng_(options.seed ? options.seed : std::random_device{}()) {}

void Ledger::Register(Agent& agent) {
  if (Status st = agent.Flow("ledger.rounding", {"v1", "v2"}, "v1"); !st.ok()) {
    std::fprintf(stderr, "ledger: declaring flow ledger.rounding: %s\n", st.ToString().c_str());
  }
  agent.Handle("payments.received",
               [this](const Message& in, Context& ctx) { return HandlePayment(in, ctx); });
  agent.Send("balance.updated", [this](const Message& out) { return Notify(out); });
  agent.Derive("balance", "balance.updated",
               [](std::string_view key, Inputs& inputs, Context& ctx) {
                 return DeriveBalance(key, inputs, ctx);
               });

  agent.Knob("downstream.set", "Make the notifier downstream fail a share of its calls (0 heals it)",
             {{"failure_percent", ArgType::kInt, "share of calls that fail, 0..100"}},
             [this](const Args& a) -> StatusOr<std::string> {
               int64_t p = a.Int("failure_percent");
               if (p < 0 || p > 100) return InvalidArgument("failure_percent must be 0..100");
               std::lock_guard<std::mutex> lock(mu_);
               double before = options_.downstream_failure_rate;
               options_.downstream_failure_rate = static_cast<double>(p) / 100;
               return "notifier failure rate " + std::to_string(static_cast<int>(before * 100)) +
                      "% -> " + std::to_string(p) + "%";
             });
  agent.Knob("cache.flush", "Drop cached balance renderings (all, or one account's)",
             {{"account", ArgType::kString, "e.g. account:7; all when absent", false}},
             [this](const Args& a) -> StatusOr<std::string> {
               std::lock_guard<std::mutex> lock(mu_);
               size_t n = 0;
               if (a.Has("account")) {
                 n = rendered_.erase(a.String("account"));
               } else {
                 n = rendered_.size();
                 rendered_.clear();
               }
               return "dropped " + std::to_string(n) + " cached balance(s)";
             });
  agent.Knob("log.level", "Change the service's log level",
             {{"level", ArgType::kEnum, "new level", true, {"debug", "info", "warn", "error"}}},
             [this](const Args& a) -> StatusOr<std::string> {
               std::lock_guard<std::mutex> lock(mu_);
               std::string before = log_level_;
               log_level_ = a.String("level");
               return "log level " + before + " -> " + log_level_;
             });
  agent.Knob("balances.show", "Show the in-memory balance of an account",
             {{"account", ArgType::kString, "e.g. account:7"}},
             [this](const Args& a) -> StatusOr<std::string> {
               std::string account = a.String("account");
               std::lock_guard<std::mutex> lock(mu_);
               auto it = balances_.find(account);
               if (it == balances_.end()) return NotFound("no balance for " + account + " yet");
               return account + ": " + FormatCents(it->second);
             },
             {.mutates = false});
}

std::pair<std::string, std::string> Ledger::NextPayment() {
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<int> account(1, options_.accounts);
  std::uniform_int_distribution<int> mills(100, 250000);  // 0.100 .. 250.000
  std::uniform_real_distribution<double> unit(0, 1);
  std::string key = "account:" + std::to_string(account(rng_));
  int m = mills(rng_);
  char amount[32];
  std::snprintf(amount, sizeof amount, "%d.%03d", m / 1000, m % 1000);
  std::string amount_text = amount;
  if (unit(rng_) < options_.invalid_payment_rate) {
    // Some upstreams send a decimal comma; the ledger rejects those.
    amount_text[amount_text.find('.')] = ',';
  }
  char payment_id[32];
  std::snprintf(payment_id, sizeof payment_id, "p-%06llu",
                static_cast<unsigned long long>(++payments_));
  std::string payload = "{\"payment_id\":\"" + std::string(payment_id) + "\",\"account\":\"" + key +
                        "\",\"amount\":\"" + amount_text + "\",\"currency\":\"EUR\"}";
  return {key, payload};
}

bool Ledger::ParseAmountCentsV1(std::string_view amount, int64_t* cents) {
  size_t dot = amount.find('.');
  std::string_view whole = amount.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : amount.substr(dot + 1);
  if (whole.empty() || whole.size() > 12) return false;
  int64_t v = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return false;
  }
  // BUG (v1): the third decimal is dropped instead of rounded.
  int64_t c = 0;
  for (size_t i = 0; i < 2; ++i) c = c * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  *cents = v * 100 + c;
  return true;
}

bool Ledger::ParseAmountCentsV2(std::string_view amount, int64_t* cents) {
  int64_t truncated = 0;
  if (!ParseAmountCentsV1(amount, &truncated)) return false;
  size_t dot = amount.find('.');
  // Round half up on the third decimal; later decimals cannot change that.
  if (dot != std::string_view::npos && amount.size() > dot + 3 && amount[dot + 3] >= '5') {
    ++truncated;
  }
  *cents = truncated;
  return true;
}

std::string Ledger::FormatCents(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>((cents < 0 ? -cents : cents) / 100),
                static_cast<long long>((cents < 0 ? -cents : cents) % 100));
  return buf;
}

int64_t Ledger::Balance(const std::string& account) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = balances_.find(account);
  return it == balances_.end() ? 0 : it->second;
}

Status Ledger::HandlePayment(const Message& in, Context& ctx) {
  std::string amount = JsonField(in.payload, "amount");
  int64_t cents = 0;
  // "" (flow not declared) behaves as v1, the code as it was.
  const std::string rounding = ctx.Flow("ledger.rounding") == "v2" ? "v2" : "v1";
  bool parsed = rounding == "v2" ? ParseAmountCentsV2(amount, &cents) : ParseAmountCentsV1(amount, &cents);
  if (!parsed) {
    return InvalidArgument("invalid amount \"" + amount +
                           "\": expected a decimal number like 12.345");
  }
  int64_t balance;
  {
    // Idempotent per payment: a replayed payment (a reflow, a migration)
    // replaces what the same payment contributed before instead of adding
    // to it again, so replays correct balances rather than double them.
    std::lock_guard<std::mutex> lock(mu_);
    std::string payment = JsonField(in.payload, "payment_id");
    if (payment.empty()) payment = in.origin_id.empty() ? in.id : in.origin_id;
    auto it = applied_.try_emplace(payment, 0).first;
    balance = balances_[in.key] += cents - it->second;
    it->second = cents;
    rendered_[in.key] = FormatCents(balance);
  }
  ctx.Emit("balance.updated", in.key,
           "{\"account\":\"" + in.key + "\",\"balance\":\"" + FormatCents(balance) +
               "\",\"payment_id\":\"" + JsonField(in.payload, "payment_id") +
               "\",\"rounding\":\"" + rounding + "\"}",
           {}, "application/json");
  return Status::Ok();
}

StatusOr<std::string> Ledger::DeriveBalance(std::string_view key, Inputs& inputs, Context& ctx) {
  // From first principles: every payment of the account, with the rounding
  // its flow variant says, skipping the ones the handler rejects.
  const std::string rounding = ctx.Flow("ledger.rounding") == "v2" ? "v2" : "v1";
  int64_t balance = 0;
  std::string last_payment;
  Message in;
  while (inputs.Next(&in)) {
    if (in.channel != "payments.received") continue;
    int64_t cents = 0;
    std::string amount = JsonField(in.payload, "amount");
    bool parsed = rounding == "v2" ? ParseAmountCentsV2(amount, &cents) : ParseAmountCentsV1(amount, &cents);
    if (!parsed) continue;
    balance += cents;
    last_payment = JsonField(in.payload, "payment_id");
  }
  if (!inputs.status().ok()) return inputs.status();
  return "{\"account\":\"" + std::string(key) + "\",\"balance\":\"" + FormatCents(balance) +
         "\",\"payment_id\":\"" + last_payment + "\",\"rounding\":\"" + rounding + "\"}";
}

Status Ledger::Notify(const Message& out) {
  (void)out;  // the notifier would POST it; the demo only decides its fate
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_real_distribution<double> unit(0, 1);
  if (unit(rng_) < options_.downstream_failure_rate) {
    return Unavailable("notifier: HTTP 503 Service Unavailable (downstream overloaded); retry later");
  }
  return Status::Ok();
}

}  // namespace reprise::demo
