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

namespace {
void store_all(std::span<const CodeWrite> writes, bool forward) {
  for (const CodeWrite &w : writes) {
    uint32_t word;
    std::memcpy(&word, forward ? w.new_ : w.old, sizeof word);
    store_word(w.addr, word);
    flush(w.addr, w.addr + kInsnSize);
  }
}
}  // namespace

int poke_live(std::span<const CodeWrite> writes) {
  if (writes.empty()) return 0;
  store_all(writes, true);
  // Every thread serialises its instruction stream before this returns:
  // none still runs a call that the batch removed. If that cannot be had
  // (membarrier forbidden meanwhile), the old words go back, each as
  // atomic as the new one was: all or nothing.
  int err = sync_core();
  if (err) store_all(writes, false);
  return err;
}

bool poke_one_ok(uintptr_t) { return true; }

int poke_one(const CodeWrite &w) {
  store_all(std::span<const CodeWrite>(&w, 1), true);
  return 0;
}

int sync_live() { return sync_core(); }

void poke_quiet(uintptr_t addr, const uint8_t *bytes, size_t len) {
  for (size_t i = 0; i + 4 <= len; i += 4) {
    uint32_t word;
    std::memcpy(&word, bytes + i, sizeof word);
    store_word(addr + i, word);
  }
  flush(addr, addr + len);
}

}  // namespace sled::arch
