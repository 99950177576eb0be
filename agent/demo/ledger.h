// The demo's ledger service: ingests payments per account, keeps balances,
// and emits balance updates to a notifier downstream that fails now and then.
//
// Its rounding has a bug (amounts with a third decimal are truncated instead
// of rounded: 12.345 becomes 12.34, not 12.35). That is the `v1` code path of
// the flow `ledger.rounding`; `v2` rounds half up. The default stays v1 until
// an operator switches keys (or everyone) to v2.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "reprise/agent/agent.h"

namespace reprise::demo {

struct LedgerOptions {
  double downstream_failure_rate = 0.15;  // share of notifier calls that fail
  double invalid_payment_rate = 0.03;     // share of generated payments with a bad amount
  int accounts = 40;
  uint64_t seed = 0;  // 0: random
};

class Ledger {
 public:
  explicit Ledger(LedgerOptions options);

  // Declares the flow ledger.rounding and registers the handler for
  // payments.received, the sender for balance.updated and the demo's knobs.
  void Register(Agent& agent);

  // The traffic generator's next payment: (key, JSON payload).
  std::pair<std::string, std::string> NextPayment();

  // Amount "12.345" in cents, as the buggy v1 rounding computes it (truncated).
  static bool ParseAmountCentsV1(std::string_view amount, int64_t* cents);
  // The fix (v2): rounded half up, 12.345 -> 1235 cents.
  static bool ParseAmountCentsV2(std::string_view amount, int64_t* cents);
  static std::string FormatCents(int64_t cents);

  int64_t Balance(const std::string& account) const;

  // The deriver "balance": an account's balance.updated from all of its
  // payments, as the handler would have produced it.
  static StatusOr<std::string> DeriveBalance(std::string_view key, Inputs& inputs, Context& ctx);

 private:
  Status HandlePayment(const Message& in, Context& ctx);
  Status Notify(const Message& out);

  LedgerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t> balances_;  // cents; guarded by mu_
  std::map<std::string, int64_t> applied_;   // payment id -> cents it added; guarded by mu_
  std::map<std::string, std::string> rendered_;  // cached balance texts; guarded by mu_
  std::string log_level_ = "info";           // guarded by mu_
  std::mt19937_64 rng_;                      // guarded by mu_
  uint64_t payments_ = 0;                    // guarded by mu_
};

}  // namespace reprise::demo
