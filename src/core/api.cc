// The public C API: argument checks, locking, and the calls into the
// registry, matcher and update plan. Never throws, never aborts.
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <utility>

#include "arch/arch.h"
#include "arch/frame.h"
#include "core/direct.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/graph_internal.h"
#include "core/lifecycle.h"
#include "core/list_walker.h"
#include "core/matcher.h"
#include "core/module_identity.h"
#include "core/module_index.h"
#include "core/oom.h"
#include "core/patch_profile.h"
#include "core/reclaim.h"
#include "core/registry.h"
#include "core/thread_state.h"
#include "core/update.h"
#include "sled/sled.h"

namespace sled {
namespace {

const char *refusal_text(int refusal) {
  switch (refusal) {
    case SLED_SITE_BAD_BYTES:
      return "entry bytes are not a NOP form";
    case SLED_SITE_BAD_LITERAL:
      return "the 8 bytes before the entry are not NOPs";
    case SLED_SITE_MISALIGNED:
      return "literal not 8-byte aligned";
    case SLED_SITE_UNSAFE_NOPS:
      return "its one-time entry rewrite was unsafe: threads could be running it (threads ran "
             "when sled first saw the module, or its constructors started one)";
    case SLED_SITE_OUT_OF_SEGMENT:
      return "not in executable text";
    case SLED_SITE_NO_STUB:
      return "no near stub within reach";
    case SLED_SITE_TEXT_LOCKED:
      return "its text could not be made writable (W^X policy)";
    default:
      return "ok";
  }
}

// `with_bytes`: also copy the site's bytes (under the lock only: from a
// callback, the module's text may be going away with a dlclose).
void fill_info(const Module &m, const Site &s, sled_site_info *out, bool with_bytes = true) {
  std::memset(out, 0, sizeof *out);
  // Fields a writer may change meanwhile when called from a callback:
  // relaxed atomic loads, paired with update.cc's stores (module.h).
  auto nr_ops = std::atomic_ref<const uint16_t>(s.nr_ops).load(std::memory_order_relaxed);
  auto flags = std::atomic_ref<const uint8_t>(s.flags).load(std::memory_order_relaxed);
  out->ip = s.entry;
  out->name = m.name_of(s);
  out->module = m.base_name.c_str();
  out->refusal = s.refusal;
  out->nr_ops = nr_ops;
  out->enabled = ((flags & kSiteCallMask) >> kSiteCallShift) != kCallNone;
  out->literal =
      std::atomic_ref<const sled_ops *const>(s.applied_literal).load(std::memory_order_relaxed);
  auto kind = (flags & kSiteCallMask) >> kSiteCallShift;
  out->dispatch = !out->enabled || nr_ops == 0                     ? SLED_DISPATCH_NONE
                  : kind == kCallDirect || kind == kCallDirectList ? SLED_DISPATCH_TRAMP
                  : nr_ops == 1                                    ? SLED_DISPATCH_DIRECT
                                                                   : SLED_DISPATCH_LIST;
  if (with_bytes && s.refusal != SLED_SITE_OUT_OF_SEGMENT) {
    // Through the kernel, not a load: a library closed from a callback
    // (which sled notices only at its next refresh) may be unmapped now;
    // its bytes then read as zero instead of faulting.
    // Where the call is unavailable (qemu-user, sandboxes), a copy made
    // pinned, after checking the module is still the same load.
    iovec local{out->bytes, sizeof out->bytes};
    iovec remote{reinterpret_cast<void *>(s.entry - arch::kLiteralSize), sizeof out->bytes};
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (n < 0 && errno != EFAULT) {
      Module *self[] = {const_cast<Module *>(&m)};
      n = with_modules_pinned(self, [&] {
        std::memcpy(out->bytes, remote.iov_base, sizeof out->bytes);
        return static_cast<int>(sizeof out->bytes);
      });
    }
    if (n != static_cast<ssize_t>(sizeof out->bytes)) std::memset(out->bytes, 0, sizeof out->bytes);
  }
}

// Calls that change state or hand out sled's tables refuse from a callback
// without touching the lock: a writer may hold it while its grace period
// waits for this very callback.
int refuse_in_callback(const char *what) {
  set_last_error("%s called from inside a sled callback", what);
  return -EDEADLK;
}

// Common prologue of calls that may change state: not from a callback,
// initialised, module list fresh.
int enter(Registry &r) {
  if (in_sled_callback()) {
    // A writer may be waiting for this thread's grace period under the lock.
    set_last_error("sled API called from inside a sled callback");
    return -EDEADLK;
  }
  if (int err = ensure_initialized(r)) {
    set_last_error("sled could not start: %s", sled_strerror(err));
    return err;
  }
  refresh_modules(r, false, false);
  return 0;
}

// Every pattern must name some function; a positive one a traceable one.
int check_patterns(Registry &r, const std::vector<Pattern> &patterns) {
  std::vector<Module *> mods = all_modules(r);
  for (const Pattern &p : patterns) {
    SiteSet hits = match_pattern(mods, p);
    const char *text = p.name.c_str();
    if (hits.empty()) {
      set_last_error("pattern '%s%s%s%s' matches no function", p.negate ? "!" : "", text,
                     p.module.empty() ? "" : "@", p.module.c_str());
      return -ENOENT;
    }
    if (p.negate) continue;
    bool any_ok = false;
    for (Site *s : hits) any_ok |= s->refusal == SLED_SITE_OK;
    if (any_ok) continue;
    Module *m = r.module_of(hits[0]);
    sled_site_info info;
    fill_info(*m, *hits[0], &info);
    char bytes[64];
    set_last_error("%s (%s) at %#lx cannot be traced: %s; bytes at entry-8: [%s]", info.name,
                   info.module, static_cast<unsigned long>(info.ip), refusal_text(info.refusal),
                   format_bytes(info.bytes, sizeof info.bytes, bytes, sizeof bytes));
    return -ENOEXEC;
  }
  return 0;
}

int set_patterns(sled_ops *ops, const char *text, int reset, bool notrace) {
  if (!ops) return -EINVAL;
  if (in_sled_callback()) return -EDEADLK;
  std::vector<Pattern> parsed;
  if (int err = parse_patterns(text ? text : "", &parsed)) return err;
  Registry &r = registry();
  RegistryLock lock;
  profile::Scope profiled(notrace ? "sled_set_notrace" : "sled_set_filter");
  if (int err = enter(r)) return err;
  profile::mark(profile::kEnter);
  if (int err = check_patterns(r, parsed)) return err;
  OpsState *st = r.find_or_create_ops(ops);
  PatternSet &set = notrace ? st->notrace : st->filter;
  // The new set is built aside (it allocates), then swapped in.
  PatternSet next;
  if (!reset) next = set;
  next.patterns.insert(next.patterns.end(), parsed.begin(), parsed.end());
  std::swap(set, next);
  if (!st->registered) return 0;
  int err;
  try {
    SiteSet target = traced_sites(all_modules(r), *st);
    profile::mark(profile::kMatch);
    err = retrace_ops(r, *st, std::move(target));
  } catch (const std::exception &) {
    err = out_of_memory(-ENOMEM);
  }
  if (err) std::swap(set, next);
  return err;
}

// Drops the state of an ops that is not registered. 0, or -ENOMEM with
// nothing changed (then the walker's snapshot still lists the ops).
int forget_ops(Registry &r, OpsState *st) {
  if (st->ips && walker_lists(st->ops)) {
    // Still in the published snapshot: no batch republished it since (so
    // the caller's retrace changed nothing). Republish without it.
    std::vector<void *> retired;
    try {
      retired.reserve(r.ops.size() + 2);
    } catch (const std::exception &) {
      return out_of_memory(-ENOMEM);
    }
    if (int err = walker_publish(r, r.strategy != Strategy::kCallops, &retired)) return err;
    retired.push_back(const_cast<IpSet *>(st->ips));
    st->ips = nullptr;
    if (reclaim_deferring()) {
      reclaim_frees(retired);
    } else {
      synchronize();
      walker_free(retired);
    }
  } else if (st->ips) {
    // Only an older snapshot may name it: free after a grace period.
    void *ips = const_cast<IpSet *>(st->ips);
    st->ips = nullptr;
    if (reclaim_deferring()) {
      reclaim_free(ips);
    } else {
      synchronize();
      free(ips);
    }
  }
  std::erase_if(r.ops, [&](const std::unique_ptr<OpsState> &p) { return p.get() == st; });
  return 0;
}

// Both unregisters, under the lock. `async`: the change queues what its
// grace period would free (reclaim.h) with done(ops, arg), instead of
// waiting.
int unregister_locked(sled_ops *ops, void (*done)(sled_ops *, void *), void *arg, bool async) {
  Registry &r = registry();
  profile::Scope profiled("sled_unregister_ops");
  if (int err = enter(r)) return err;
  profile::mark(profile::kEnter);
  OpsState *st = r.find_ops(ops);
  if (!st || !st->registered) {
    if (st) forget_ops(r, st);
    set_last_error("ops %p is not registered", static_cast<void *>(ops));
    return -ENOENT;
  }
  if (async) {
    if (int err = reclaim_reserve(4)) return out_of_memory(err);
  }
  std::optional<DeferScope> defer;
  if (async) defer.emplace();
  // Out of the list walker's snapshot too, before the grace period.
  st->registered = false;
  if (int err = retrace_ops(r, *st, {})) {
    st->registered = true;
    return err;
  }
  if (int err = forget_ops(r, st)) {
    st->registered = true;  // nothing else changed: see forget_ops
    return err;
  }
  if (async) reclaim_done(ops, done, arg);
  if (!async && direct_of(ops)) {
    // No site calls the trampoline now (the writes are synced) and the
    // grace period is over (no thread reads the solo list): wait until no
    // thread is inside the trampoline either, so its owner may unmap it.
    free(direct_solo_of(ops));
    set_direct_solo_of(ops, nullptr);
    direct_quiesce(direct_of(ops), direct_of(ops) + direct_size_of(ops));
  }
  return 0;
}

}  // namespace
}  // namespace sled

using namespace sled;

extern "C" {

int sled_ops_set_direct(sled_ops *ops, void *tramp, size_t size) try {
  if (!ops || (!tramp) != (size == 0)) return -EINVAL;
  if (in_sled_callback()) return -EDEADLK;
  Registry &r = registry();
  RegistryLock lock;
  if (int err = enter(r)) return err;
  OpsState *st = r.find_ops(ops);
  if ((st && st->registered) || reclaim_pending(ops)) {
    set_last_error("ops %p is registered: set its direct trampoline before registering",
                   static_cast<void *>(ops));
    return -EBUSY;
  }
  set_direct_of(ops, reinterpret_cast<uintptr_t>(tramp));
  set_direct_size_of(ops, size);
  return 0;
}
SLED_CATCH_OOM(-ENOMEM)

int sled_register_ops(sled_ops *ops) try {
  if (!ops || (!ops->func && !direct_of(ops))) return -EINVAL;
  if (in_sled_callback()) return -EDEADLK;
  Registry &r = registry();
  RegistryLock lock;
  profile::Scope profiled("sled_register_ops");
  if (int err = enter(r)) return err;
  profile::mark(profile::kEnter);
  if (reclaim_pending(ops)) {
    set_last_error("ops %p: its asynchronous unregister has not completed",
                   static_cast<void *>(ops));
    return -EBUSY;
  }
  OpsState *st = r.find_ops(ops);
  if (st && st->registered) {
    set_last_error("ops %p is already registered", static_cast<void *>(ops));
    return -EEXIST;
  }
  if (r.killed) {
    set_last_error("sled stopped patching after an earlier anomaly");
    return -ENOTRECOVERABLE;
  }
  bool fresh = !st;
  if (!st) st = r.find_or_create_ops(ops);
  SiteSet target = traced_sites(all_modules(r), *st);  // allocates: before any change
  profile::mark(profile::kMatch);
  if (direct_of(ops)) {
    ListOps *solo = list_ops_create({ops});  // what its sites' literals name (core/direct.h)
    if (!solo) {
      if (fresh) forget_ops(r, st);
      return out_of_memory(-ENOMEM);
    }
    set_direct_solo_of(ops, solo);
  }
  st->registered = true;
  int err = retrace_ops(r, *st, std::move(target));
  if (err) {
    st->registered = false;
    if (fresh) forget_ops(r, st);
    // A failed register leaves no site naming the ops (retrace_ops waited).
    free(direct_solo_of(ops));
    set_direct_solo_of(ops, nullptr);
  }
  return err;
}
SLED_CATCH_OOM(-ENOMEM)

int sled_unregister_ops(sled_ops *ops) try {
  if (!ops) return -EINVAL;
  if (in_sled_callback()) return -EDEADLK;
  RegistryLock lock;
  return unregister_locked(ops, nullptr, nullptr, false);
}
SLED_CATCH_OOM(-ENOMEM)

int sled_unregister_ops_async(sled_ops *ops, void (*done)(sled_ops *, void *), void *arg) try {
  if (!ops) return -EINVAL;
  if (direct_of(ops)) {
    set_last_error("ops %p has a direct trampoline: unregister it with sled_unregister_ops",
                   static_cast<void *>(ops));
    return -EOPNOTSUPP;
  }
  if (in_sled_callback()) return -EDEADLK;
  {
    RegistryLock lock;
    if (int err = unregister_locked(ops, done, arg, true)) return err;
  }
  if (reclaim_kick() < 0) {
    // No reclaim thread (thread limit): run the grace period and the
    // callbacks here, before returning, rather than leave them waiting.
    {
      RegistryLock lock;
      synchronize();
    }
    reclaim_call_ready();
  }
  return 0;
}
SLED_CATCH_OOM(-ENOMEM)

int sled_set_filter(sled_ops *ops, const char *patterns, int reset) try {
  return set_patterns(ops, patterns, reset, false);
}
SLED_CATCH_OOM(-ENOMEM)

int sled_set_notrace(sled_ops *ops, const char *patterns, int reset) try {
  return set_patterns(ops, patterns, reset, true);
}
SLED_CATCH_OOM(-ENOMEM)

int sled_set_strategy(const char *name) try {
  Strategy to;
  if (parse_strategy(name, &to) != 0) {
    set_last_error("unknown strategy '%s' (callops, list, dyntramp)", name ? name : "(null)");
    return -EINVAL;
  }
  if (in_sled_callback()) return refuse_in_callback("sled_set_strategy");
  Registry &r = registry();
  RegistryLock lock;
  if (int err = enter(r)) return err;
  return switch_strategy(r, to);
}
SLED_CATCH_OOM(-ENOMEM)

const char *sled_get_strategy(void) {
  // No lock (callbacks may ask): a relaxed atomic load of a value whose
  // writers (switch_strategy, start-up) store it atomically.
  Registry &r = registry();
  return strategy_name(std::atomic_ref<Strategy>(r.strategy).load(std::memory_order_relaxed));
}

uintptr_t sled_regs_arg(const sled_regs *regs, unsigned n) {
  return regs && n < SLED_REGS_MAX_ARGS ? regs->arg(n) : 0;
}
uintptr_t sled_regs_return_address(const sled_regs *regs) {
  // A graph ops earlier in the list may have hooked the return already.
  return regs ? graph::real_return_address(regs->return_sp(), regs->parent_ip()) : 0;
}
uintptr_t sled_regs_stack_pointer(const sled_regs *regs) { return regs ? regs->sp() : 0; }
uintptr_t sled_regs_ip(const sled_regs *regs) { return regs ? regs->ip() : 0; }
int sled_regs_set_ip(sled_regs *regs, uintptr_t new_ip) {
  if (!regs || !new_ip) return -EINVAL;
  // Only the one IPMODIFY ops a function may have can redirect it.
  if (!regs->ops || !(regs->ops->flags & SLED_OPS_FL_IPMODIFY)) return -EPERM;
  regs->set_ip(new_ip);
  return 0;
}

size_t sled_site_count(void) try {
  // From a callback: the lock-free table, without looking for new modules.
  if (in_sled_callback()) return module_index_site_count();
  Registry &r = registry();
  RegistryLock lock;
  if (enter(r)) return 0;
  size_t n = 0;
  for (auto &m : r.modules) n += m->sites.size();
  return n;
}
SLED_CATCH_OOM(size_t{0})

int sled_for_each_site(int (*fn)(const sled_site_info *, void *), void *arg) try {
  if (!fn) return -EINVAL;
  if (in_sled_callback()) return refuse_in_callback("sled_for_each_site");
  Registry &r = registry();
  RegistryLock lock;
  if (int err = enter(r)) return err;
  sled_site_info info;
  // fn may load or unload a library (the lock is recursive): the module
  // list, and the module being walked, may then be gone. Stop at once.
  const unsigned long long adds = r.dl_adds, subs = r.dl_subs;
  for (size_t i = 0; i < r.modules.size(); i++) {
    const Module &m = *r.modules[i];
    for (size_t j = 0; j < m.sites.size(); j++) {
      fill_info(m, m.sites[j], &info);
      if (int rc = fn(&info, arg)) return rc;
      if (r.dl_adds != adds || r.dl_subs != subs) {
        set_last_error("a library was loaded or unloaded during sled_for_each_site");
        return -EAGAIN;
      }
    }
  }
  return 0;
}
SLED_CATCH_OOM(-ENOMEM)

int sled_site_lookup(uintptr_t ip, sled_site_info *out) try {
  if (!out) return -EINVAL;
  if (in_sled_callback()) {
    // Lock-free: the module table, read inside this callback's section.
    const Module *m = nullptr;
    const Site *s = module_index_find(ip, &m);
    if (!s) {
      set_last_error("no site at %#lx", static_cast<unsigned long>(ip));
      return -ENOENT;
    }
    fill_info(*m, *s, out, false);
    return 0;
  }
  Registry &r = registry();
  RegistryLock lock;
  if (int err = enter(r)) return err;
  Module *m = nullptr;
  Site *s = r.site_at(ip, &m);
  if (!s) {
    set_last_error("no site at %#lx", static_cast<unsigned long>(ip));
    return -ENOENT;
  }
  fill_info(*m, *s, out);
  return 0;
}
SLED_CATCH_OOM(-ENOMEM)

int sled_get_stats(sled_stats *out) try {
  if (!out) return -EINVAL;
  if (in_sled_callback()) {
    std::memset(out, 0, sizeof *out);
    return refuse_in_callback("sled_get_stats");
  }
  Registry &r = registry();
  RegistryLock lock;
  int err = enter(r);
  *out = r.stats;
  out->modules = r.modules.size();
  for (auto &m : r.modules)
    for (Site &s : m->sites) {
      out->sites_found++;
      if (s.refusal != SLED_SITE_OK) {
        out->sites_refused++;
        out->refused_by_reason[s.refusal]++;
      }
      if (applied_call(s) != kCallNone) out->sites_enabled++;
    }
  out->killed = r.killed;
  return err;
}
SLED_CATCH_OOM(-ENOMEM)

}  // extern "C"
