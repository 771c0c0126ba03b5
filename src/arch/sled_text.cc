// sled's own code, the same on every arch: the assembly entry points (each
// back end's trampoline.S defines them under these names) and the registry
// of near pages, which trap handling and checks of a site's call target
// consult. Decides nothing about sites.
#include <atomic>

#include "arch/arch.h"

extern "C" void sled_callops_trampoline();
extern "C" void sled_list_trampoline();
extern "C" void sled_dyntramp_body();
extern "C" char sled_trampolines_begin[];
extern "C" char sled_trampolines_end[];

namespace sled::arch {
namespace {
// Append-only: each slot is written before the count that publishes it.
constexpr size_t kMaxTextRanges = 1024;
struct TextRange {
  uintptr_t lo, hi;
};
TextRange g_text_ranges[kMaxTextRanges];
std::atomic<size_t> g_text_range_count{0};
}  // namespace

void add_sled_text(uintptr_t lo, uintptr_t hi) {
  size_t n = g_text_range_count.load(std::memory_order_relaxed);
  if (n == kMaxTextRanges) return;
  g_text_ranges[n] = TextRange{lo, hi};
  g_text_range_count.store(n + 1, std::memory_order_release);  // publishes the slot
}

bool is_sled_text(uintptr_t pc) {
  if (pc >= reinterpret_cast<uintptr_t>(sled_trampolines_begin) &&
      pc < reinterpret_cast<uintptr_t>(sled_trampolines_end))
    return true;
  size_t n = g_text_range_count.load(std::memory_order_acquire);  // pairs with the publish
  for (size_t i = 0; i < n; i++)
    if (pc >= g_text_ranges[i].lo && pc < g_text_ranges[i].hi) return true;
  return false;
}

uintptr_t callops_trampoline() { return reinterpret_cast<uintptr_t>(&sled_callops_trampoline); }
uintptr_t list_trampoline() { return reinterpret_cast<uintptr_t>(&sled_list_trampoline); }
uintptr_t dyntramp_body() { return reinterpret_cast<uintptr_t>(&sled_dyntramp_body); }

}  // namespace sled::arch
