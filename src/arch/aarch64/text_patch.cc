// aarch64 live text patching. The only live change is the word at a site's
// patch slot, `nop` <-> `bl`, and B/BL/NOP are in the ARM ARM's list of
// instructions that may be modified while other threads execute them
// (concurrent modification and execution): a thread sees either the old or
// the new word, never a mix. So a batch is: aligned 32-bit stores, cache
// maintenance of each word (__builtin___clear_cache: DC CVAU + IC IVAU), then
// one membarrier(PRIVATE_EXPEDITED_SYNC_CORE) so every thread has discarded
// any stale prefetched instruction before the batch counts as done (core
// relies on that before freeing what a removed call pointed at). No int3
// dance, no trap handler. This file owns the writes; it decides nothing.
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "arch/arch.h"

extern "C" void sled_callops_trampoline();
extern "C" void sled_list_trampoline();
extern "C" void sled_dyntramp_body();
extern "C" char sled_trampolines_begin[];
extern "C" char sled_trampolines_end[];

namespace sled::arch {
namespace {

int membarrier(int cmd) { return static_cast<int>(syscall(__NR_membarrier, cmd, 0, 0)); }

int sync_core() { return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0 ? 0 : -errno; }

// An aligned 32-bit store is single-copy atomic. In assembly so sanitizers
// never touch text pages (they keep no shadow for them).
void store_word(uintptr_t addr, uint32_t w) {
  asm volatile("str %w1, [%0]" : : "r"(addr), "r"(w) : "memory");
}

void flush(uintptr_t lo, uintptr_t hi) {
  __builtin___clear_cache(reinterpret_cast<char *>(lo), reinterpret_cast<char *>(hi));
}

}  // namespace

int live_patching_init() {
  static int result = [] {
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0 ? 0 : -errno;
  }();
  return result;
}

void reclaim_trap_handler() {}  // no trap handler on aarch64

int poke_live(std::span<const CodeWrite> writes) {
  if (writes.empty()) return 0;
  for (const CodeWrite &w : writes) {
    uint32_t word;
    std::memcpy(&word, w.new_, sizeof word);
    store_word(w.addr, word);
    flush(w.addr, w.addr + kInsnSize);
  }
  // Every thread serialises its instruction stream before this returns:
  // none still runs a call that the batch removed.
  return sync_core();
}

void poke_quiet(uintptr_t addr, const uint8_t *bytes, size_t len) {
  for (size_t i = 0; i + 4 <= len; i += 4) {
    uint32_t word;
    std::memcpy(&word, bytes + i, sizeof word);
    store_word(addr + i, word);
  }
  flush(addr, addr + len);
}

namespace {
// Code ranges of sled's own (trampolines, near stubs): append-only, each
// slot written before the count that publishes it.
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
  size_t n = g_text_range_count.load(std::memory_order_acquire);
  for (size_t i = 0; i < n; i++)
    if (pc >= g_text_ranges[i].lo && pc < g_text_ranges[i].hi) return true;
  return false;
}

uintptr_t callops_trampoline() { return reinterpret_cast<uintptr_t>(&sled_callops_trampoline); }
uintptr_t list_trampoline() { return reinterpret_cast<uintptr_t>(&sled_list_trampoline); }
uintptr_t dyntramp_body() { return reinterpret_cast<uintptr_t>(&sled_dyntramp_body); }

}  // namespace sled::arch
