// x86_64 live text patching: the kernel's text_poke_bp protocol in user
// space. For a batch: int3 on byte 0 of every site, sync; bytes 1..4, sync;
// byte 0, sync. "sync" is membarrier(PRIVATE_EXPEDITED_SYNC_CORE): every
// thread of the process serialises its instruction stream before it returns,
// so none can run a torn instruction. A thread that meets one of our int3s
// gets SIGTRAP; the handler resumes it past the site (as if the site were a
// NOP) or, when the int3 is already gone, at the site (the final bytes).
// This file owns the trap handler and the writes; it decides nothing.
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "arch/arch.h"

namespace sled::arch {
namespace {

constexpr uint8_t kInt3 = 0xcc;

int membarrier(int cmd) { return static_cast<int>(syscall(__NR_membarrier, cmd, 0, 0)); }

// The batch being written, for the trap handler: a sorted array of patch
// addresses. Handlers count themselves in g_handlers_active *before* they
// load g_batch (both seq_cst), so a writer that has unpublished g_batch and
// then sees the count at zero knows no handler still reads the array; the
// handler's release decrement orders its reads before the writer's reuse.
// A late handler (trapped, then preempted before running) finds g_batch
// null or another batch, and falls back to reading the byte itself.
struct Batch {
  const uintptr_t *addrs;
  size_t count;
};
std::atomic<const Batch *> g_batch{nullptr};
std::atomic<int> g_handlers_active{0};
Batch g_batch_slot;
std::vector<uintptr_t> g_batch_storage;

void unpublish_batch() {
  g_batch.store(nullptr, std::memory_order_seq_cst);
  while (g_handlers_active.load(std::memory_order_acquire) != 0) sched_yield();
}

struct sigaction g_prev_action;
std::atomic<bool> g_handler_installed{false};

bool batch_contains(const Batch *b, uintptr_t addr) {
  if (!b) return false;
  return std::binary_search(b->addrs, b->addrs + b->count, addr);
}

// A site instruction as sled leaves it: the canonical 5-byte NOP, or a call
// into sled's text or one of its near stubs.
bool is_final_site_insn(uintptr_t addr) {
  const auto *p = reinterpret_cast<const uint8_t *>(addr);
  if (p[0] == 0x0f && p[1] == 0x1f && p[2] == 0x44 && p[3] == 0x00) return true;
  if (p[0] != 0xe8) return false;
  int32_t rel;
  std::memcpy(&rel, p + 1, sizeof rel);
  return is_sled_text(addr + kInsnSize + static_cast<int64_t>(rel));
}

void chain_to_previous(int sig, siginfo_t *info, void *uc) {
  const struct sigaction &prev = g_prev_action;
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction) prev.sa_sigaction(sig, info, uc);
    return;
  }
  if (prev.sa_handler == SIG_IGN) return;
  if (prev.sa_handler == SIG_DFL) {
    // Not ours: let the default action (core dump) happen, as without sled.
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  prev.sa_handler(sig);
}

void on_sigtrap(int sig, siginfo_t *info, void *ucv) {
  auto *uc = static_cast<ucontext_t *>(ucv);
  greg_t &rip = uc->uc_mcontext.gregs[REG_RIP];
  if (info->si_code == SI_KERNEL) {  // an int3 instruction
    uintptr_t site = static_cast<uintptr_t>(rip) - 1;
    const auto *byte = reinterpret_cast<const volatile uint8_t *>(site);
    g_handlers_active.fetch_add(1, std::memory_order_seq_cst);
    bool ours = batch_contains(g_batch.load(std::memory_order_seq_cst), site);
    g_handlers_active.fetch_sub(1, std::memory_order_release);
    if (ours && *byte == kInt3) {
      rip = static_cast<greg_t>(site + kInsnSize);  // skip: the call did not happen
      return;
    }
    if (*byte != kInt3 && is_final_site_insn(site)) {
      rip = static_cast<greg_t>(site);  // our int3 is gone: run what replaced it
      return;
    }
  }
  chain_to_previous(sig, info, ucv);
}

void install_handler() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigtrap;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  struct sigaction prev;
  if (sigaction(SIGTRAP, &sa, &prev) == 0) {
    if (prev.sa_sigaction != on_sigtrap || !(prev.sa_flags & SA_SIGINFO)) g_prev_action = prev;
    g_handler_installed.store(true, std::memory_order_relaxed);
  }
}

int sync_core() { return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0 ? 0 : -errno; }

// Text is written in assembly so sanitizers never touch it (they keep no
// shadow for text pages); byte stores are single-copy atomic.
void store_byte(uintptr_t addr, uint8_t v) {
  asm volatile("movb %1, (%0)" : : "r"(addr), "q"(v) : "memory");
}

}  // namespace

int live_patching_init() {
  static int result = [] {
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) != 0) return -errno;
    install_handler();
    return 0;
  }();
  return result;
}

void reclaim_trap_handler() {
  struct sigaction cur;
  if (sigaction(SIGTRAP, nullptr, &cur) != 0) return;
  if (cur.sa_sigaction != on_sigtrap || !(cur.sa_flags & SA_SIGINFO)) install_handler();
}

int prepare_live(size_t n) {
  try {
    g_batch_storage.reserve(n);  // poke_live's reserve is then a no-op
  } catch (const std::exception &) {
    return -ENOMEM;
  }
  return 0;
}

int poke_live(std::span<const CodeWrite> writes) {
  if (writes.empty()) return 0;
  reclaim_trap_handler();  // the program may have installed its own since
  unpublish_batch();
  g_batch_storage.clear();
  g_batch_storage.reserve(writes.size());
  for (const CodeWrite &w : writes) g_batch_storage.push_back(w.addr);
  if (!std::is_sorted(g_batch_storage.begin(), g_batch_storage.end()))
    std::sort(g_batch_storage.begin(), g_batch_storage.end());
  g_batch_slot = Batch{g_batch_storage.data(), g_batch_storage.size()};
  // Seq_cst (so release): a handler that loads g_batch sees the addresses.
  g_batch.store(&g_batch_slot, std::memory_order_seq_cst);

  for (const CodeWrite &w : writes) store_byte(w.addr, kInt3);
  if (int err = sync_core()) {
    // Only the int3s went in: put the old first bytes back and give up.
    for (const CodeWrite &w : writes) store_byte(w.addr, w.old[0]);
    return err;
  }
  for (const CodeWrite &w : writes)
    for (size_t i = 1; i < kInsnSize; i++) store_byte(w.addr + i, w.new_[i]);
  sync_core();
  for (const CodeWrite &w : writes) store_byte(w.addr, w.new_[0]);
  sync_core();
  return 0;
}

void poke_quiet(uintptr_t addr, const uint8_t *bytes, size_t len) {
  for (size_t i = 0; i < len; i++) store_byte(addr + i, bytes[i]);
}

}  // namespace sled::arch
