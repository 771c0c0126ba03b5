// The slim update path (update_slim.h): one ops takes every site it selects
// from nobody, or gives them all back, under callops. Every site then moves
// between "no ops, NOP" and "this ops alone, call to the module's CALL_OPS
// trampoline", so the plan is implicit and the batch is three passes over
// the sorted site list itself, with no per-site records:
//   1. check (pinned, before any write): every site is the slim case and
//      takes one atomic instruction store, and every old byte (literal and
//      instruction) is what sled left there; the pages are collected (or,
//      for a dense batch in text populated before, declared by range and
//      made writable before this pass: see check_and_write). Any
//      site not slim: decline, nothing written (update.cc's general path
//      runs). A foreign byte: -EIO and the kill switch, nothing written;
//   2. write (pinned, pages writable): per group of 32 sites, the literals
//      (naming the ops before its call goes in, or the nop ops before its
//      call goes away), then the calls, each a compare-exchange that checks
//      the old bytes again; one membarrier(SYNC_CORE) after the last site. A
//      failure puts back every call and literal written (as update.cc's
//      write_batch), sets the kill switch, and the caller waits a grace
//      period before returning;
//   3. commit: the sites' fields and the ops' traced set; on unregister,
//      the grace period.
// A batch with any x86 site needing the stepped form goes the general way
// (it orders every site's steps batch-wide). Must not allocate after the
// first write (core/oom.h).
#include "core/update_slim.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>

#include "arch/arch.h"
#include "core/direct.h"
#include "core/dispatch.h"
#include "core/dyntramp.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/module_identity.h"
#include "core/patch_profile.h"
#include "core/patch_session.h"
#include "core/reclaim.h"

namespace sled {
namespace {

// The sites of one module: [begin, end) of the batch's sorted site list.
struct Run {
  Module *module;
  size_t begin, end;
};

// Kept between calls (under the registry lock), like update.cc's scratch.
struct SlimScratch {
  std::vector<Run> runs;
  std::vector<Module *> modules;
  // Per site, the old instruction's bytes that the NOP check leaves out
  // (x86: the compiler's NOP differs from sled's in its last byte): what
  // an undo puts back.
  std::vector<uint8_t> loose;
};
SlimScratch &slim_scratch() {
  static SlimScratch *s = new SlimScratch();
  return *s;
}

constexpr size_t kLoose = arch::kInsnSize - arch::kNopCompareBytes;

uintptr_t literal_addr(const Site &s) { return s.entry - arch::kLiteralSize; }

// Whether the instruction bytes at `at` are `expect`: its first
// kNopCompareBytes when a NOP (x86: the compiler's and sled's NOPs differ
// in the last byte), all of it when a call. Constant sizes: compiled inline.
bool holds(const void *at, const uint8_t *expect, bool nop) {
  return nop ? std::memcmp(at, expect, arch::kNopCompareBytes) == 0
             : std::memcmp(at, expect, arch::kInsnSize) == 0;
}

struct Batch {
  Registry &r;
  OpsState &st;
  const std::vector<Site *> &sites;
  const std::vector<Run> &runs;
  bool add;                 // register (NOP -> call) or unregister (call -> NOP)
  const sled_ops *new_ref;  // what every literal will name

  // fn(module, site, index) for the first `upto` sites.
  template <class Fn>
  void for_each(size_t upto, Fn fn) const {
    for (const Run &run : runs)
      for (size_t i = run.begin; i < run.end && i < upto; i++) fn(*run.module, *sites[i], i);
  }

  // The instruction the site holds now (its first kNopCompareBytes when a
  // NOP) and the one it gets.
  bool encode(const Module &m, uintptr_t patch, uint8_t old_[], uint8_t new_[]) const {
    arch::encode_nop(add ? old_ : new_);
    return arch::encode_call(patch, m.call_target, add ? new_ : old_);
  }

  bool is_slim(const Site &s) const {
    if (add)
      return s.nr_ops == 0 && applied_call(s) == kCallNone &&
             (!s.applied_literal || s.applied_literal == &g_nop_ops);
    return s.nr_ops == 1 && s.ops_ref == st.ops && applied_call(s) == kCallOps &&
           s.applied_literal == st.ops;
  }
};

// Splits the sorted site list by module. False: a site of no module.
bool split_runs(Registry &r, const std::vector<Site *> &sites, std::vector<Run> *runs,
                std::vector<Module *> *mods) {
  runs->clear();
  mods->clear();
  size_t covered = 0;
  std::less<const Site *> before;  // a total order across arrays
  for (auto &m : r.modules) {
    if (m->sites.empty()) continue;
    Site *lo = m->sites.data(), *hi = lo + m->sites.size();
    auto b = std::lower_bound(sites.begin(), sites.end(), lo, before);
    auto e = std::lower_bound(b, sites.end(), hi, before);
    if (b == e) continue;
    runs->push_back(Run{m.get(), static_cast<size_t>(b - sites.begin()),
                        static_cast<size_t>(e - sites.begin())});
    mods->push_back(m.get());
    covered += static_cast<size_t>(e - b);
  }
  std::sort(runs->begin(), runs->end(),
            [](const Run &a, const Run &b) { return a.begin < b.begin; });
  std::sort(mods->begin(), mods->end());
  return covered == sites.size();
}

// Names the site whose bytes are not sled's. -EIO.
int unexpected_bytes(const Module &m, const Site &s) {
  uint8_t window[arch::kSiteWindow];
  std::memcpy(window, reinterpret_cast<const void *>(literal_addr(s)), sizeof window);
  char bytes[80];
  set_last_error("%s (%s) at %#lx: unexpected bytes [%s]; sled stopped patching", m.name_of(s),
                 m.base_name.c_str(), static_cast<unsigned long>(s.entry),
                 format_bytes(window, sizeof window, bytes, sizeof bytes));
  return -EIO;
}

// How many sites ahead the passes prefetch text.
constexpr size_t kAhead = 16;

// Pass 1. 0, kSlimDeclined, or -EIO (nothing written either way).
int check(const Batch &b, PatchSession &session, bool declared) {
  for (const Run &run : b.runs) {
    const Module &m = *run.module;
    if (!m.call_target) return kSlimDeclined;  // the general path says why
    const TextSegment *seg = nullptr;
    for (size_t i = run.begin; i < run.end; i++) {
      const Site &s = *b.sites[i];
      // Each site's text is a cache miss: start a later site's early.
      if (i + kAhead < run.end)
        __builtin_prefetch(
            reinterpret_cast<const void *>(b.sites[i + kAhead]->entry - arch::kLiteralSize));
      uintptr_t patch = m.patch_of(s);
      uint8_t old_[arch::kInsnSize], new_[arch::kInsnSize];
      if (!b.is_slim(s) || !arch::poke_one_ok(patch) || !b.encode(m, patch, old_, new_))
        return kSlimDeclined;
      uint64_t want = s.applied_literal ? reinterpret_cast<uint64_t>(s.applied_literal)
                                        : arch::kCompiledLiteral;
      if (arch::load_literal(literal_addr(s)) != want ||
          !holds(reinterpret_cast<const void *>(patch), old_, b.add))
        return unexpected_bytes(m, s);
      if (declared) continue;
      // Sites come sorted: the segment of the previous one usually holds this one.
      if (!seg || s.entry < seg->lo || s.entry >= seg->hi) seg = m.segment_of(s.entry);
      int prot = seg ? seg->prot : (PROT_READ | PROT_EXEC);
      session.add(literal_addr(s), arch::kLiteralSize, prot);
      session.add(patch, arch::kInsnSize, prot);
    }
  }
  return 0;
}

// Puts back the calls of the first `calls` sites and the literals of the
// first `literals`, each with the same kind of store that wrote it (see
// update.cc's restore_literals for why a compiled literal goes to the nop
// ops).
void undo(const Batch &b, size_t calls, size_t literals) {
  const std::vector<uint8_t> &loose = slim_scratch().loose;
  b.for_each(calls, [&](Module &m, Site &s, size_t i) {
    arch::CodeWrite w;
    w.addr = m.patch_of(s);
    b.encode(m, w.addr, w.new_, w.old);  // swapped: back from new to old
    if constexpr (kLoose > 0)
      std::memcpy(w.new_ + arch::kNopCompareBytes, loose.data() + i * kLoose, kLoose);
    arch::poke_one(w);  // a foreign write meanwhile: leave it (killed anyway)
  });
  publish_literals();
  const sled_ops *old = b.add ? &g_nop_ops : b.st.ops;
  b.for_each(literals, [&](Module &, Site &s, size_t) {
    arch::store_literal(literal_addr(s), reinterpret_cast<uintptr_t>(old));
    std::atomic_ref<const sled_ops *>(s.applied_literal)
        .store(old, std::memory_order_relaxed);  // see module.h
    b.r.stats.literal_writes++;
  });
}

// Sites per group of pass 2: the group's literal stores go out together
// (their cache misses overlap), then its calls; a site's literal still
// precedes its call.
constexpr size_t kGroup = 32;

// Pass 2, pages writable. 0, or a negative errno with everything undone.
int write(const Batch &b) {
  std::vector<uint8_t> &loose = slim_scratch().loose;
  // Before the literal stores: a thread that sees a new literal sees this
  // publication too (TSan's happens-before; see dispatch.h).
  publish_literals();
  for (const Run &run : b.runs) {
    Module &m = *run.module;
    for (size_t lo = run.begin; lo < run.end; lo += kGroup) {
      size_t hi = std::min(run.end, lo + kGroup);
      for (size_t i = lo; i < hi; i++) {
        Site &s = *b.sites[i];
        if (i + kAhead < run.end)  // see check()
          __builtin_prefetch(
              reinterpret_cast<const void *>(b.sites[i + kAhead]->entry - arch::kLiteralSize), 1);
        if (!s.applied_literal) note_first_write(m, literal_addr(s));
        // Release pairs with the dispatcher's acquire load: the ops' fields
        // are visible to a thread that reads the literal.
        arch::store_literal(literal_addr(s), reinterpret_cast<uintptr_t>(b.new_ref));
        std::atomic_ref<const sled_ops *>(s.applied_literal)
            .store(b.new_ref, std::memory_order_relaxed);  // see module.h
      }
      for (size_t i = lo; i < hi; i++) {
        arch::CodeWrite w;
        w.addr = m.patch_of(*b.sites[i]);
        b.encode(m, w.addr, w.old, w.new_);  // checked in pass 1: cannot fail
        if constexpr (kLoose > 0) {
          // A NOP's last bytes as found (pass 1 compared the rest); x86's
          // compare-exchange checks every old byte again as it swaps.
          if (b.add)
            std::memcpy(w.old + arch::kNopCompareBytes,
                        reinterpret_cast<const void *>(w.addr + arch::kNopCompareBytes), kLoose);
          std::memcpy(loose.data() + i * kLoose, w.old + arch::kNopCompareBytes, kLoose);
        }
        int err = arch::poke_one(w);
        if (err) {
          undo(b, i, hi);
          set_last_error("a site's bytes changed while sled wrote it (%s); sled stopped patching",
                         sled_strerror(err));
          return err;
        }
      }
    }
  }
  if (int err = arch::sync_live()) {
    undo(b, b.sites.size(), b.sites.size());
    set_last_error("membarrier(SYNC_CORE) failed (%s); sled stopped patching", sled_strerror(err));
    return err;
  }
  return 0;
}

// Passes 1 and 2, pinned. *written: literals were written (the caller
// waits a grace period on failure).
// Declares, without reading any site's text, the pages of a batch whose
// sites lie densely in one segment per module, in text populated before:
// from the first literal to the last instruction of each run. False
// (nothing declared): check() collects them site by site.
bool declare_dense(const Batch &b, PatchSession &session) {
  constexpr uintptr_t kPage = 4096;  // a bound on how sparse, not the page size
  for (const Run &run : b.runs) {
    const Module &m = *run.module;
    const Site &first = *b.sites[run.begin], &last = *b.sites[run.end - 1];
    const TextSegment *seg = m.segment_of(first.entry);
    if (!seg || last.entry >= seg->hi) return false;
    uintptr_t lo = literal_addr(first), hi = m.patch_of(last) + arch::kInsnSize;
    if ((hi - lo) / kPage > 2 * (run.end - run.begin) + 2) return false;  // sparse
    // Text not yet copied on write: checked first, as its read faults then
    // make populating it cheaper (a first batch).
    if (!text_populated(lo & ~(kPage - 1), hi)) return false;
  }
  for (const Run &run : b.runs) {
    const Module &m = *run.module;
    const Site &first = *b.sites[run.begin], &last = *b.sites[run.end - 1];
    uintptr_t lo = literal_addr(first), hi = m.patch_of(last) + arch::kInsnSize;
    session.add(lo, hi - lo, m.segment_of(first.entry)->prot);
  }
  return true;
}

int check_and_write(const Batch &b, bool *written) {
  PatchSession session;
  // Dense batches make their pages writable before the check: the kernel's
  // page-table work then runs before the check pass evicts its data from
  // the caches (measured: 2 ms -> 0.5 ms for 782 pages on this guest). No
  // byte is written before the whole check passes, as before.
  bool declared = declare_dense(b, session);
  if (declared) {
    if (int err = session.open()) return err;
    profile::mark(profile::kProtectRw);
  }
  if (int err = check(b, session, declared)) {
    if (err == -EIO) {
      b.r.killed = true;
      b.r.stats.patch_failures++;
    }
    return err;
  }
  profile::mark(profile::kPrepare);
  if (!declared) {
    if (int err = session.open()) return err;
    profile::mark(profile::kProtectRw);
  }
  *written = true;
  if (int err = write(b)) {
    b.r.killed = true;
    return err;
  }
  if (session.close() != 0) b.r.killed = true;  // a page stayed writable (last error says which)
  profile::mark(profile::kProtectRx);
  return 0;
}

}  // namespace

int retrace_slim(Registry &r, OpsState &st, SiteSet &target) {
  bool add = st.traced.empty() && !target.empty();
  bool remove = target.empty() && !st.traced.empty();
  if ((!add && !remove) || r.killed || r.strategy != Strategy::kCallops || direct_of(st.ops))
    return kSlimDeclined;
  const std::vector<Site *> &sites = add ? target : st.traced;
  SlimScratch &scratch = slim_scratch();
  // Everything is allocated before the first write.
  if (!split_runs(r, sites, &scratch.runs, &scratch.modules)) return kSlimDeclined;
  scratch.loose.resize(sites.size() * kLoose);
  bool defer = remove && reclaim_deferring();
  if (defer && reclaim_reserve(16) != 0) {
    set_last_error("out of memory");
    return -ENOMEM;
  }
  profile::mark(profile::kStage);
  Batch b{r, st, sites, scratch.runs, add, add ? st.ops : &g_nop_ops};
  bool written = false;
  int err = with_modules_pinned(scratch.modules, [&] {
    profile::mark(profile::kPin);
    return check_and_write(b, &written);
  });
  if (err == -ESTALE) {
    set_last_error(
        "a module was unloaded behind sled's lock (dlclose from a callback?) while "
        "sled was changing it; nothing was written");
    r.rescan = true;
  }
  if (err) {
    // The literals are back; once no thread can still be running the ops
    // from one of them, the caller may free it.
    if (written) synchronize();
    return err;
  }
  b.for_each(sites.size(), [&](Module &, Site &s, size_t) {
    set_applied_call(s, add ? kCallOps : kCallNone);
    s.ops_ref = add ? st.ops : nullptr;
    std::atomic_ref<uint16_t>(s.nr_ops).store(add ? 1 : 0, std::memory_order_relaxed);
  });
  r.stats.literal_writes += sites.size();
  r.stats.sites_patched += sites.size();
  r.stats.patch_batches++;
  profile::sites(sites.size());
  if (add)
    st.traced.swap(target);
  else
    SiteSet().swap(st.traced);  // frees it; `sites` is not used below
  st.traced_version++;
  profile::mark(profile::kCommit);
  if (remove) {  // the ops left every site: a grace period, then its trampolines go
    if (defer) {
      reclaim_dyntramp(st.ops);
    } else {
      synchronize();
      dyntramp_release(st.ops);
    }
  }
  profile::mark(profile::kGrace);
  return 0;
}

}  // namespace sled
