// x86_64 live text patching without traps (docs/robustness.md explains the
// choice). A site's instruction is one 5-byte NOP or one 5-byte call, and
// every change replaces that whole instruction, so a thread must only ever
// fetch the old instruction or the new one. Two ways to get there:
//
//  * whole: the 5 bytes lie inside one naturally aligned 8-byte word (a site
//    at an 8-aligned entry), or one 16-byte block (a 16-aligned entry with
//    endbr64, the site at entry+4) written with cmpxchg16b: one atomic
//    store replaces the instruction; the other bytes of the word are stored
//    back unchanged (compare-exchange, so a foreign write in between, e.g. a
//    debugger's breakpoint, is detected instead of overwritten).
//  * stepped (any other alignment): XRay's order, with a sync between steps:
//      1. atomic 2-byte store of `jmp .+5` (eb 03) over the first two bytes:
//         a thread now skips the site (the old call does not happen);
//      2. bytes 2..4, which no thread executes while the jmp is there;
//      3. atomic 2-byte store of the new first two bytes.
//
// "sync" is membarrier(PRIVATE_EXPEDITED_SYNC_CORE): every thread of the
// process executes a serialising instruction before it returns, so none keeps
// a stale prefetched copy of bytes changed before it. A batch does step 1 of
// every stepped site, sync, step 2, sync, then the whole stores and step 3,
// sync: one membarrier when every site is whole (the usual case with
// -falign-functions=16), three otherwise.
//
// No int3 and no SIGTRAP handler: nothing here depends on the program's
// signal masks, its own SIGTRAP handlers or a debugger. If a sync fails
// (membarrier forbidden by a seccomp filter installed meanwhile), the batch
// is undone as far as it safely can be without one, and the error returned:
// whole sites get their old instruction back (one atomic store, as
// forwards); a stepped site whose tail was already rewritten is left at
// `jmp .+5` (a thread may hold the new tail prefetched, so the old head must
// not come back unsynced): it skips the call, as a disabled site does.
//
// This file owns the text writes; it decides nothing about sites.
#include <cpuid.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arch/arch.h"
#include "core/patch_profile.h"

namespace sled::arch {
namespace {

constexpr uint8_t kJmpOver[2] = {0xeb, 0x03};  // jmp .+5: skips the rest of the site

int membarrier(int cmd) { return static_cast<int>(syscall(__NR_membarrier, cmd, 0, 0)); }

int sync_core() {
  profile::mark(profile::kCode);
  int err = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0 ? 0 : -errno;
  profile::mark(profile::kSync);
  return err;
}

bool has_cmpxchg16b() {
  static const bool has = [] {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B);
  }();
  return has;
}

// Text accesses are in assembly so sanitizers never see them (they keep no
// shadow for text pages). Each store below is single-copy atomic: aligned
// and locked where it must compare; the 2-byte store goes to a site at
// entry + 4 with the entry 8-aligned (stepped sites only), so it never
// crosses an 8-byte word, let alone a cache line.
void store_byte(uintptr_t addr, uint8_t v) {
  asm volatile("movb %1, (%0)" : : "r"(addr), "q"(v) : "memory");
}
void store_u16(uintptr_t addr, uint16_t v) {
  asm volatile("movw %1, (%0)" : : "r"(addr), "r"(v) : "memory");
}
// Compare-exchange of an aligned 8-byte word; false if it no longer holds
// `expect` (then nothing was written).
bool cas_u64(uintptr_t addr, uint64_t expect, uint64_t desired) {
  bool ok;
  asm volatile("lock cmpxchgq %2, (%3)"
               : "=@ccz"(ok), "+a"(expect)
               : "r"(desired), "r"(addr)
               : "memory");
  return ok;
}
bool cas_u128(uintptr_t addr, const uint64_t expect[2], const uint64_t desired[2]) {
  bool ok;
  uint64_t lo = expect[0], hi = expect[1];
  asm volatile("lock cmpxchg16b (%3)"
               : "=@ccz"(ok), "+a"(lo), "+d"(hi)
               : "r"(addr), "b"(desired[0]), "c"(desired[1])
               : "memory");
  return ok;
}

enum class Method { kWhole8, kWhole16, kStepped };

Method method_for(uintptr_t addr) {
  if ((addr & 7) + kInsnSize <= 8) return Method::kWhole8;
  if ((addr & 15) + kInsnSize <= 16 && has_cmpxchg16b()) return Method::kWhole16;
  return Method::kStepped;
}

// Replaces the instruction at `addr` (expected to hold `from`) by `to` with
// one atomic store of the enclosing word. -EIO if the site's bytes are not
// `from` (a foreign writer); the bytes around the site are kept as found.
// The 5 bytes at `insn` as the low 40 bits of a word.
uint64_t insn_bits(const uint8_t *insn) {
  uint64_t v = 0;
  std::memcpy(&v, insn, kInsnSize);
  return v;
}

// kWhole8 (the usual case: a site at an 8-aligned entry) with masks, no
// byte copies: the 8-byte word is read once per attempt.
int swap_whole8(uintptr_t addr, const uint8_t *from, const uint8_t *to) {
  uintptr_t block = addr & ~uintptr_t(7);
  unsigned shift = static_cast<unsigned>(addr - block) * 8;
  uint64_t mask = ((uint64_t{1} << (kInsnSize * 8)) - 1) << shift;
  uint64_t old_bits = insn_bits(from) << shift, new_bits = insn_bits(to) << shift;
  for (int attempt = 0; attempt < 64; attempt++) {
    uint64_t cur;
    std::memcpy(&cur, reinterpret_cast<const void *>(block), sizeof cur);
    if ((cur & mask) != old_bits) return -EIO;
    if (cas_u64(block, cur, (cur & ~mask) | new_bits)) return 0;
    // Only bytes around the site changed meanwhile (see swap_whole).
  }
  return -EIO;
}

int swap_whole(uintptr_t addr, Method m, const uint8_t *from, const uint8_t *to) {
  if (m == Method::kWhole8) return swap_whole8(addr, from, to);
  size_t width = m == Method::kWhole8 ? 8 : 16;
  uintptr_t block = addr & ~uintptr_t(width - 1);
  size_t off = addr - block;
  for (int attempt = 0; attempt < 64; attempt++) {
    uint64_t cur[2], next[2];
    std::memcpy(cur, reinterpret_cast<const void *>(block), width);
    if (std::memcmp(reinterpret_cast<const uint8_t *>(cur) + off, from, kInsnSize) != 0)
      return -EIO;
    std::memcpy(next, cur, width);
    std::memcpy(reinterpret_cast<uint8_t *>(next) + off, to, kInsnSize);
    bool ok = m == Method::kWhole8 ? cas_u64(block, cur[0], next[0]) : cas_u128(block, cur, next);
    if (ok) return 0;
    // Only bytes around the site changed (a debugger's breakpoint in the
    // body, written between our read and our store): read again.
  }
  return -EIO;
}

uint16_t head_of(const uint8_t *insn) {
  uint16_t v;
  std::memcpy(&v, insn, sizeof v);
  return v;
}
void store_tail(uintptr_t addr, const uint8_t *insn) {
  for (size_t i = 2; i < kInsnSize; i++) store_byte(addr + i, insn[i]);
}

// The passes of one batch, forwards (apply) or backwards (undo after a
// failed sync, as far as the top of this file allows).
struct Batch {
  std::span<const CodeWrite> writes;
  bool any_stepped = false;

  void heads_to_jmp() const {
    for (const CodeWrite &w : writes)
      if (method_for(w.addr) == Method::kStepped) store_u16(w.addr, head_of(kJmpOver));
  }
  // Forwards only: once a tail is rewritten, an undo stops at the jmp.
  void new_tails() const {
    for (const CodeWrite &w : writes)
      if (method_for(w.addr) == Method::kStepped) store_tail(w.addr, w.new_);
  }
  void stepped_heads(bool forward) const {
    for (const CodeWrite &w : writes)
      if (method_for(w.addr) == Method::kStepped)
        store_u16(w.addr, head_of(forward ? w.new_ : w.old));
  }
  // Whole writes [0, n) forwards; returns how many went in before a refusal.
  size_t wholes_forward(int *err) const {
    for (size_t i = 0; i < writes.size(); i++) {
      const CodeWrite &w = writes[i];
      Method m = method_for(w.addr);
      if (m == Method::kStepped) continue;
      if ((*err = swap_whole(w.addr, m, w.old, w.new_))) return i;
    }
    return writes.size();
  }
  void wholes_back(size_t n) const {
    for (size_t i = 0; i < n; i++) {
      const CodeWrite &w = writes[i];
      Method m = method_for(w.addr);
      if (m != Method::kStepped) swap_whole(w.addr, m, w.new_, w.old);
    }
  }
};

}  // namespace

int live_patching_init() {
  static int result =
      membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0 ? 0 : -errno;
  return result;
}

int poke_live(std::span<const CodeWrite> writes) {
  if (writes.empty()) return 0;
  Batch b{writes};
  for (const CodeWrite &w : writes) b.any_stepped |= method_for(w.addr) == Method::kStepped;

  if (b.any_stepped) {
    b.heads_to_jmp();
    if (int err = sync_core()) {
      b.stepped_heads(false);  // the tails were never touched
      return err;
    }
    b.new_tails();
    if (int err = sync_core()) return err;  // stepped sites stay at jmp (above)
  }
  int err = 0;
  size_t wholes = b.wholes_forward(&err);
  if (b.any_stepped && !err) b.stepped_heads(true);
  if (!err) err = sync_core();
  if (err) {
    // Back to the old instructions, each with the same kind of atomic store
    // that put the new one in: every thread still sees one whole instruction.
    // Stepped sites go back to jmp only (see the top of this file).
    b.wholes_back(wholes);
    if (b.any_stepped) b.heads_to_jmp();
  }
  return err;
}

bool poke_one_ok(uintptr_t addr) { return method_for(addr) != Method::kStepped; }

int poke_one(const CodeWrite &w) {
  Method m = method_for(w.addr);
  if (m == Method::kStepped) return -EINVAL;  // the caller checked poke_one_ok
  return swap_whole(w.addr, m, w.old, w.new_);
}

int sync_live() { return sync_core(); }

void poke_quiet(uintptr_t addr, const uint8_t *bytes, size_t len) {
  for (size_t i = 0; i < len; i++) store_byte(addr + i, bytes[i]);
}

}  // namespace sled::arch
