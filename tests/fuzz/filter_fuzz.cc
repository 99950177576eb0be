// libFuzzer target: the filter language (store/filter/*.cc). Any text is
// parsed; what parses must print canonically, reparse to the same text, and
// compile for both SQL dialects. Nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "reprise/store/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace reprise::filter;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = Parse(text);
  if (!parsed.ok()) return 0;
  for (Dialect d : {Dialect::kSqlite, Dialect::kPostgres}) {
    (void)Compile(parsed->get(), {d, 1700000000000000, 1});
    (void)Compile(text, {d, 1700000000000000, 3});
    (void)CompileGroupBy(text, {d, 1700000000000000, 1});
  }
  if (*parsed == nullptr) return 0;  // blank: matches everything
  // The canonical text is a filter too, and a fixed point.
  std::string canonical = ToString(**parsed);
  auto again = Parse(canonical);
  if (!again.ok() || *again == nullptr || ToString(**again) != canonical) std::abort();
  return 0;
}
