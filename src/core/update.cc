// Order of writes in one batch, each state in between correct:
//   1. literals (aligned 8-byte stores): an enabled site's literal names its
//      new ops before its call goes in; a disabled site's literal names the
//      nop ops before its call goes away;
//   2. calls, through arch::poke_live (the int3 protocol): in, out, or moved
//      to another trampoline when the strategy or the number of ops changes;
//   3. the list walker's snapshot (list and dyntramp strategies);
//   4. a grace period when any ops left a site or anything was replaced,
//      then the replaced list ops, walker data and generated trampolines
//      are freed (trampolines go back to their pool).
// A mismatch of any old byte refuses the whole batch before any write and
// stops all further patching (the kill switch). The checks and steps 1-2
// run pinned (module_identity.h): a module unloaded or replaced behind
// sled's lock refuses the batch with -ESTALE before any write, and
// retrace_ops forgets it and tries again.
// A failure after step 1 (poke_live: membarrier denied by a sandbox) puts
// every literal back and waits a grace period before returning, so no site
// names, and no thread runs, an ops the caller is told was not registered
// (it may free it).
#include "core/update.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <iterator>

#include "arch/arch.h"
#include "core/direct.h"
#include "core/dispatch.h"
#include "core/dyntramp.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/lifecycle.h"
#include "core/list_walker.h"
#include "core/module_identity.h"
#include "core/near_stub.h"
#include "core/patch_profile.h"
#include "core/patch_session.h"
#include "core/reclaim.h"
#include "core/update_slim.h"

namespace sled {
namespace {

struct Delta {
  Site *site;
  Module *module;
  OpsState *ops;
  bool add;
};

struct SiteChange {
  Site *site;
  Module *module;
  const sled_ops *new_ref;  // what the literal will name
  uint16_t new_nr;
  CallKind new_call;
  uintptr_t new_target;                   // where the call goes (kCallNone: unused)
  ListOps *old_list;                      // to free after the grace period
  ListOps *new_list;                      // to free if the batch fails
  const sled_ops *old_literal = nullptr;  // what write_batch replaced (to restore)
};

constexpr uint64_t kCompiledLiteral = arch::kCompiledLiteral;
// Site::nr_ops is 16 bits (a Site stays 32 bytes): the limit must fit it.
static_assert(SLED_MAX_OPS_PER_SITE <= UINT16_MAX);

// Working memory of the update path, kept between calls (under the
// registry lock): a batch of 100,000 sites would otherwise fault in fresh
// pages for every vector on every call.
// The traced set an ops will have once a batch commits: computed before the
// batch's first write (it allocates), swapped in after it (cannot fail).
struct StagedTraced {
  OpsState *ops;
  std::vector<Site *> traced;
};

struct Scratch {
  std::vector<Delta> deltas;
  std::vector<SiteChange> changes;
  std::vector<arch::CodeWrite> code_writes;
  std::vector<Module *> modules;
  SiteSet adds, removes;
  std::vector<StagedTraced> staged;
};
Scratch &scratch() {
  static Scratch *s = new Scratch();
  return *s;
}

// Set when an allocation failed in this update (under the registry lock):
// attach_module tells a real shortage (redo later) from -ENOMEM's other
// meaning here, no memory within call reach (lasting).
bool g_ran_out_of_memory = false;
void out_of_memory() {
  g_ran_out_of_memory = true;
  set_last_error("out of memory");
}

uintptr_t literal_addr(const Site &s) { return s.entry - arch::kLiteralSize; }

void members_of(const Site &s, std::vector<sled_ops *> *out) {
  out->clear();
  if (s.nr_ops == 1 && !is_list_ops(s.ops_ref)) out->push_back(const_cast<sled_ops *>(s.ops_ref));
  if (s.nr_ops > 1 || (s.nr_ops == 1 && is_list_ops(s.ops_ref))) {  // a direct ops' solo list
    auto *list = reinterpret_cast<const ListOps *>(s.ops_ref);
    out->assign(list->members, list->members + list->count);
  }
}

void free_new_lists(std::vector<SiteChange> &changes) {
  for (SiteChange &c : changes) free(c.new_list);
}

int no_reach(const Module &m, const Site &s) {
  if (near_failure() == -EACCES) return -EACCES;  // a W^X policy: the last error names it
  set_last_error("%s (%s): no memory within call reach for a trampoline", m.name_of(s),
                 m.base_name.c_str());
  return -ENOMEM;
}

// Fills the call half of a change from the strategy. 0 or -ENOMEM.
int choose_call(Registry &r, SiteChange &c) {
  c.new_call = desired_call(r.strategy, c.new_nr, c.new_ref);
  c.new_target = 0;
  if (c.new_call == kCallNone) return 0;
  c.new_target = call_address(*c.module, c.new_call, c.new_ref);
  return c.new_target ? 0 : no_reach(*c.module, *c.site);
}

// Builds one SiteChange per site that deltas touch. -EBUSY/-ENOMEM.
int plan_changes(Registry &r, std::vector<Delta> &deltas, std::vector<SiteChange> *out) {
  auto by_site = [](const Delta &a, const Delta &b) { return a.site < b.site; };
  if (!std::is_sorted(deltas.begin(), deltas.end(), by_site))
    std::stable_sort(deltas.begin(), deltas.end(), by_site);
  out->reserve(deltas.size());
  std::vector<sled_ops *> members;
  for (size_t i = 0; i < deltas.size();) {
    Site *site = deltas[i].site;
    members_of(*site, &members);
    bool changed = false;
    for (; i < deltas.size() && deltas[i].site == site; i++) {
      sled_ops *o = deltas[i].ops->ops;
      auto it = std::find(members.begin(), members.end(), o);
      if (deltas[i].add && it == members.end()) members.push_back(o), changed = true;
      if (!deltas[i].add && it != members.end()) members.erase(it), changed = true;
    }
    if (!changed) continue;
    Module *module = deltas[i - 1].module;
    auto ipmodify = std::count_if(members.begin(), members.end(), [](const sled_ops *o) {
      return o->flags & SLED_OPS_FL_IPMODIFY;
    });
    int err = 0;
    if (members.size() > SLED_MAX_OPS_PER_SITE) {
      set_last_error("%s (%s) already has %d ops (SLED_MAX_OPS_PER_SITE)", module->name_of(*site),
                     module->base_name.c_str(), SLED_MAX_OPS_PER_SITE);
      err = -E2BIG;
    }
    if (!err && ipmodify > 1) {
      set_last_error("%s: another SLED_OPS_FL_IPMODIFY ops already traces it",
                     module->name_of(*site));
      err = -EBUSY;
    }
    if (!err && std::count_if(members.begin(), members.end(),
                              [](const sled_ops *o) { return direct_of(o) != 0; }) > 1) {
      set_last_error("%s: another ops with a direct trampoline already traces it",
                     module->name_of(*site));
      err = -EBUSY;
    }
    SiteChange c{site,      module, &g_nop_ops, static_cast<uint16_t>(members.size()),
                 kCallNone, 0,      nullptr,    nullptr};
    if (!err && members.size() == 1)  // a direct ops alone: its solo list (core/direct.h)
      c.new_ref = direct_of(members[0]) ? &direct_solo_of(members[0])->base : members[0];
    if (!err && members.size() > 1) {
      c.new_list = list_ops_create(members);
      if (c.new_list)
        c.new_ref = &c.new_list->base;
      else
        err = -ENOMEM;
    }
    if (!err) {
      try {
        err = choose_call(r, c);
      } catch (...) {  // bad_alloc: c is not in *out yet
        free(c.new_list);
        throw;
      }
    }
    if (site->nr_ops > 1)
      c.old_list = reinterpret_cast<ListOps *>(const_cast<sled_ops *>(site->ops_ref));
    out->push_back(c);
    if (err) {
      free_new_lists(*out);
      return err;
    }
  }
  return 0;
}

// The bytes the site's instruction has now, as sled left it.
bool expected_insn(const Site &s, Module &m, uint8_t out[arch::kInsnSize]) {
  CallKind kind = applied_call(s);
  if (kind == kCallNone) {
    arch::encode_nop(out);
    return true;
  }
  uintptr_t target = call_address(m, kind, s.applied_literal);
  return target && arch::encode_call(m.patch_of(s), target, out);
}

bool code_changes(const SiteChange &c) {
  if (c.new_call != applied_call(*c.site)) return true;
  // Same kind: only a generated or a direct trampoline depends on which ops.
  return (c.new_call == kCallDyn || c.new_call == kCallDirect) &&
         c.new_ref != c.site->applied_literal;
}

// Whether the bytes the change will overwrite are what sled left there
// (code too unless `code` is false: killed, only literals are written).
bool old_bytes_ok(const SiteChange &c, bool code) {
  const Site &s = *c.site;
  uint64_t literal = arch::load_literal(literal_addr(s));
  uint64_t want =
      s.applied_literal ? reinterpret_cast<uint64_t>(s.applied_literal) : kCompiledLiteral;
  if (literal != want) return false;
  if (!code) return true;
  const auto *insn = reinterpret_cast<const uint8_t *>(c.module->patch_of(s));
  uint8_t expect[arch::kInsnSize];
  // A never-enabled site may still hold the compiler's NOP (x86: clang's
  // has a displacement byte of 8); kNopCompareBytes identify the form.
  size_t cmp = applied_call(s) != kCallNone ? arch::kInsnSize : arch::kNopCompareBytes;
  return expected_insn(s, *c.module, expect) && std::memcmp(insn, expect, cmp) == 0;
}

// Names the site whose bytes are not sled's. -EIO.
int unexpected_bytes(const SiteChange &c) {
  const Site &s = *c.site;
  uint8_t window[arch::kSiteWindow];
  std::memcpy(window, reinterpret_cast<const void *>(literal_addr(s)), sizeof window);
  char bytes[80];
  set_last_error("%s (%s) at %#lx: unexpected bytes [%s]; sled stopped patching",
                 c.module->name_of(s), c.module->base_name.c_str(),
                 static_cast<unsigned long>(s.entry),
                 format_bytes(window, sizeof window, bytes, sizeof bytes));
  return -EIO;
}

// Puts back every literal a failed batch wrote. The caller then waits a
// grace period (outside the pinned section: pinned code never waits):
// afterwards no site names an ops of the batch and no thread runs one, so
// the caller may forget (and its client free) them. A literal that held
// the compiler's NOPs goes to the nop ops, not back to NOPs: a thread
// between a call the batch briefly put in and its literal load must read
// an ops (dispatch.cc).
void restore_literals(Registry &r, std::vector<SiteChange> &changes) {
  publish_literals();
  for (SiteChange &c : changes)
    if (c.new_ref != c.old_literal && c.site->applied_literal == c.new_ref) {
      const sled_ops *old = c.old_literal ? c.old_literal : &g_nop_ops;
      arch::store_literal(literal_addr(*c.site), reinterpret_cast<uintptr_t>(old));
      std::atomic_ref<const sled_ops *>(c.site->applied_literal)
          .store(old, std::memory_order_relaxed);  // see module.h
      r.stats.literal_writes++;
    }
}

// One pass over the batch before any write: checks every byte it will
// overwrite, encodes the code writes and collects the pages. 0, or -EIO
// naming the first site whose bytes are not sled's (nothing written).
int prepare_batch(const std::vector<SiteChange> &changes, bool code, PatchSession &session,
                  std::vector<arch::CodeWrite> &code_writes) {
  code_writes.clear();
  code_writes.reserve(changes.size());
  const TextSegment *seg = nullptr;
  for (const SiteChange &c : changes) {
    const Site &s = *c.site;
    if (!old_bytes_ok(c, code)) return unexpected_bytes(c);
    // Sites come sorted: the segment of the previous one usually holds this one.
    if (!seg || s.entry < seg->lo || s.entry >= seg->hi) seg = c.module->segment_of(s.entry);
    int prot = seg ? seg->prot : (PROT_READ | PROT_EXEC);
    if (c.new_ref != s.applied_literal) session.add(literal_addr(s), arch::kLiteralSize, prot);
    if (code && code_changes(c)) {
      arch::CodeWrite &w = code_writes.emplace_back();
      w.addr = c.module->patch_of(s);
      std::memcpy(w.old, reinterpret_cast<const void *>(w.addr), arch::kInsnSize);
      if (c.new_call == kCallNone)
        arch::encode_nop(w.new_);
      else
        arch::encode_call(w.addr, c.new_target, w.new_);
      session.add(w.addr, arch::kInsnSize, prot);
    }
  }
  return 0;
}

// Checks, then writes the batch. On failure every literal is back as it was
// (restore_literals); *literals_written says whether the caller must wait a
// grace period before it may free the new list ops. *calls_applied: the
// code writes went in (the caller records each site's new call).
int write_batch(Registry &r, std::vector<SiteChange> &changes, bool *literals_written,
                bool *calls_applied) {
  bool code = !r.killed;
  PatchSession session;
  std::vector<arch::CodeWrite> &code_writes = scratch().code_writes;
  if (int err = prepare_batch(changes, code, session, code_writes)) {
    r.killed = true;
    r.stats.patch_failures++;
    return err;
  }
  profile::mark(profile::kPrepare);
  if (int err = session.open()) return err;
  profile::mark(profile::kProtectRw);
  // Before the literal stores: a thread that sees a new literal sees this
  // publication too (TSan's happens-before; see dispatch.h).
  publish_literals();
  *literals_written = true;
  for (SiteChange &c : changes) {
    c.old_literal = c.site->applied_literal;
    if (c.new_ref == c.old_literal) continue;
    // Release pairs with the dispatcher's acquire load: the ops' fields
    // are visible to a thread that reads the literal.
    if (!c.old_literal) note_first_write(*c.module, literal_addr(*c.site));
    arch::store_literal(literal_addr(*c.site), reinterpret_cast<uintptr_t>(c.new_ref));
    std::atomic_ref<const sled_ops *>(c.site->applied_literal)
        .store(c.new_ref, std::memory_order_relaxed);  // see module.h
    r.stats.literal_writes++;
  }
  profile::mark(profile::kLiterals);
  if (int err = arch::poke_live(code_writes)) {
    // poke_live undid its code writes (all or nothing); the literals go
    // back too (the grace period follows outside the pinned section, in
    // apply_changes). -EIO: a site's bytes changed under us.
    r.killed = true;
    restore_literals(r, changes);
    set_last_error(err == -EIO ? "a site's bytes changed while sled wrote it (%s); sled stopped "
                                 "patching"
                               : "membarrier(SYNC_CORE) failed (%s); sled stopped patching",
                   sled_strerror(err));
    return err;
  }
  profile::mark(profile::kCode);
  if (session.close() != 0)
    r.killed = true;  // a page stayed writable: stop (last error says which)
  profile::mark(profile::kProtectRx);
  profile::sites(changes.size());
  *calls_applied = code;
  r.stats.sites_patched += code_writes.size();
  r.stats.patch_batches++;
  return 0;
}

// Allocates every ops' new traced set; nothing changes yet.
void stage_traced(std::vector<Delta> &deltas, std::vector<StagedTraced> *staged) {
  staged->clear();
  auto by_ops = [](const Delta &a, const Delta &b) {
    return a.ops != b.ops ? a.ops < b.ops : a.site < b.site;
  };
  if (!std::is_sorted(deltas.begin(), deltas.end(), by_ops))
    std::stable_sort(deltas.begin(), deltas.end(), by_ops);
  SiteSet &adds = scratch().adds, &removes = scratch().removes;
  for (size_t i = 0; i < deltas.size();) {
    OpsState *st = deltas[i].ops;
    adds.clear();
    removes.clear();
    for (; i < deltas.size() && deltas[i].ops == st; i++)
      (deltas[i].add ? adds : removes).push_back(deltas[i].site);
    staged->push_back(StagedTraced{st, {}});
    std::vector<Site *> &next = staged->back().traced;
    if (removes.size() == st->traced.size() && adds.empty())
      ;  // unregister: everything goes
    else if (removes.empty() && st->traced.empty())
      next.assign(adds.begin(), adds.end());
    else if (removes.empty())
      next = set_union(st->traced, adds);
    else
      next = set_union(set_difference(st->traced, removes), adds);
  }
}

// Installs the staged sets. Cannot fail: swaps only.
void commit_traced(std::vector<StagedTraced> &staged) {
  for (StagedTraced &s : staged) {
    s.ops->traced.swap(s.traced);
    s.ops->traced_version++;
  }
  staged.clear();  // frees the old sets
}

// Runs a planned batch and everything after it. `deltas` may be empty (a
// strategy change). `released`: ops whose generated trampolines go back to
// the pool after the grace period.
int apply_changes(Registry &r, std::vector<SiteChange> &changes, std::vector<Delta> &deltas,
                  const std::vector<const sled_ops *> &released, bool force_grace) {
  bool adds = std::any_of(changes.begin(), changes.end(),
                          [](const SiteChange &c) { return c.new_nr > c.site->nr_ops; });
  if (r.killed && adds) {
    free_new_lists(changes);
    set_last_error("sled stopped patching after an earlier anomaly; only removals are possible");
    return -ENOTRECOVERABLE;
  }
  int err = 0;
  // Everything the commit below needs is allocated before the first write:
  // past it, nothing may fail for want of memory (core/oom.h).
  std::vector<StagedTraced> &staged = scratch().staged;
  bool walker = r.strategy != Strategy::kCallops || force_grace;
  WalkerUpdate walker_update;
  std::vector<void *> retired;
  try {
    stage_traced(deltas, &staged);
    if (walker) {
      auto fresh = [&](const OpsState &st) -> const std::vector<Site *> * {
        for (StagedTraced &s : staged)
          if (s.ops == &st) return &s.traced;
        return nullptr;
      };
      err = walker_prepare(r, r.strategy != Strategy::kCallops, fresh, &walker_update, &retired);
    }
    // An async unregister queues what the grace period would free: room
    // for it now, before the first write (walker_commit retires a few more).
    if (!err && reclaim_deferring())
      err = reclaim_reserve(changes.size() + retired.size() + released.size() + 16);
  } catch (const std::exception &) {
    err = -ENOMEM;
  }
  if (err) {
    staged.clear();
    free_new_lists(changes);
    out_of_memory();
    return err;
  }
  profile::mark(profile::kStage);
  // Check and write pinned: no module of the batch can be unmapped while
  // it runs, and each is still the load sled read (module_identity.h).
  bool literals_written = false, calls_applied = false;
  try {
    std::vector<Module *> &mods = scratch().modules;
    mods.clear();
    for (const SiteChange &c : changes)
      if (mods.empty() || mods.back() != c.module) mods.push_back(c.module);
    std::sort(mods.begin(), mods.end());
    mods.erase(std::unique(mods.begin(), mods.end()), mods.end());
    err = with_modules_pinned(mods, [&] {
      profile::mark(profile::kPin);
      return write_batch(r, changes, &literals_written, &calls_applied);
    });
  } catch (const std::exception &) {  // before any write: write_batch allocates first
    err = -ENOMEM;
    out_of_memory();
  }
  if (err == -ESTALE) {
    set_last_error(
        "a module was unloaded behind sled's lock (dlclose from a callback?) while "
        "sled was changing it; nothing was written");
    r.rescan = true;
  }
  if (err) {
    staged.clear();
    // The literals are back (write_batch); once no thread can still be
    // running an ops of the batch, nothing names the new list ops.
    if (literals_written) synchronize();
    free_new_lists(changes);
    return err;
  }
  bool grace = force_grace || !released.empty();
  for (SiteChange &c : changes) {
    if (calls_applied) set_applied_call(*c.site, c.new_call);
    grace |= c.new_nr < c.site->nr_ops || c.old_list != nullptr;
    c.site->ops_ref = c.new_ref == &g_nop_ops ? nullptr : c.new_ref;
    std::atomic_ref<uint16_t>(c.site->nr_ops).store(c.new_nr, std::memory_order_relaxed);
  }
  if (!grace)
    grace = std::any_of(deltas.begin(), deltas.end(), [](const Delta &d) { return !d.add; });
  commit_traced(staged);
  if (walker) walker_commit(r, walker_update, &retired);
  grace |= !retired.empty();
  profile::mark(profile::kCommit);
  if (grace && reclaim_deferring()) {
    for (SiteChange &c : changes) reclaim_free(c.old_list);
    reclaim_frees(retired);
    for (const sled_ops *o : released) reclaim_dyntramp(o);
  } else if (grace) {
    synchronize();
    for (SiteChange &c : changes) free(c.old_list);
    walker_free(retired);
    for (const sled_ops *o : released) dyntramp_release(o);
  }
  profile::mark(profile::kGrace);
  return 0;
}

int apply_deltas(Registry &r, std::vector<Delta> &deltas,
                 const std::vector<const sled_ops *> &released) {
  std::vector<SiteChange> &changes = scratch().changes;
  changes.clear();
  try {
    changes.reserve(deltas.size());  // plan_changes' push_backs then never throw
    if (int err = plan_changes(r, deltas, &changes)) return err;
    profile::mark(profile::kPlan);
  } catch (const std::exception &) {
    free_new_lists(changes);
    out_of_memory();
    return -ENOMEM;
  }
  return apply_changes(r, changes, deltas, released, false);
}

// Runs `fn`; an allocation failure in it (nothing changed yet) is -ENOMEM.
template <class Fn>
int or_enomem(Fn fn) {
  try {
    return fn();
  } catch (const std::exception &) {
    out_of_memory();
    return -ENOMEM;
  }
}

// The operations themselves (below); the public wrappers catch their
// allocation failures, which happen before anything changed.
int retrace_ops_now(Registry &r, OpsState &st, SiteSet &target);
int attach_module_now(Registry &r, Module &m);
int switch_strategy_now(Registry &r, Strategy to, std::vector<void *> *retired);

}  // namespace

int retrace_ops(Registry &r, OpsState &st, SiteSet target) {
  return or_enomem([&] {
    int err = retrace_ops_now(r, st, target);
    // A module went away behind sled's lock (-ESTALE, nothing written):
    // forget it and aim again. Every caller's target is what the ops
    // selects now (or nothing once unregistered), recomputed the same way.
    // The refresh attaches new modules for the other ops only: this one's
    // sites all come from the retry, so a retry that fails leaves nothing
    // naming it (its caller may then free it).
    struct Retracing {
      OpsState &st;
      explicit Retracing(OpsState &s) : st(s) { st.retracing = true; }
      ~Retracing() { st.retracing = false; }
    };
    for (int tries = 0; err == -ESTALE && tries < 3; tries++) {
      {
        Retracing guard(st);
        refresh_modules(r, true, false);
      }
      SiteSet again = st.registered ? traced_sites(all_modules(r), st) : SiteSet{};
      err = retrace_ops_now(r, st, again);
    }
    return err;
  });
}

int attach_module(Registry &r, Module &m, bool *ran_out) {
  g_ran_out_of_memory = false;
  int err = or_enomem([&] { return attach_module_now(r, m); });
  if (ran_out) *ran_out = g_ran_out_of_memory;
  return err;
}

int switch_strategy(Registry &r, Strategy to) {
  if (r.strategy == to) return 0;
  if (r.killed) {
    set_last_error("sled stopped patching after an earlier anomaly");
    return -ENOTRECOVERABLE;
  }
  Strategy from = r.strategy;
  std::vector<void *> retired;
  int err = or_enomem([&] { return switch_strategy_now(r, to, &retired); });
  if (err) {
    r.strategy = from;
    std::vector<void *> more;
    // Best effort: should this fail too, the snapshot published for `to`
    // lists the same ops and sets, and callops sites never read it.
    walker_publish(r, from != Strategy::kCallops, &more);
    synchronize();
    walker_free(retired);
    walker_free(more);
  } else {
    walker_free(retired);  // apply_changes ran a grace period after publishing
  }
  return err;
}

namespace {

int retrace_ops_now(Registry &r, OpsState &st, SiteSet &target) {
  // The common batch (one ops taking its sites from nobody, or giving them
  // all back) has a path without per-site plan arrays.
  int slim = retrace_slim(r, st, target);
  if (slim != kSlimDeclined) return slim;
  profile::mark(profile::kStage);  // what the slim path's checks cost when it declined
  std::vector<Delta> &deltas = scratch().deltas;
  deltas.clear();
  SiteSet &adds = scratch().adds, &removes = scratch().removes;
  adds.clear();
  removes.clear();
  std::set_difference(target.begin(), target.end(), st.traced.begin(), st.traced.end(),
                      std::back_inserter(adds));
  std::set_difference(st.traced.begin(), st.traced.end(), target.begin(), target.end(),
                      std::back_inserter(removes));
  deltas.reserve(adds.size() + removes.size());
  Module *m = nullptr;
  auto module_of = [&](const Site *s) {
    if (!m || s < m->sites.data() || s >= m->sites.data() + m->sites.size()) m = r.module_of(s);
    return m;
  };
  for (Site *s : removes) deltas.push_back(Delta{s, module_of(s), &st, false});
  for (Site *s : adds) deltas.push_back(Delta{s, module_of(s), &st, true});
  // An ops that leaves every site gives its generated trampolines back.
  std::vector<const sled_ops *> released;
  if (target.empty() && !st.traced.empty()) released.push_back(st.ops);
  profile::mark(profile::kDiff);
  if (deltas.empty()) return 0;
  return apply_deltas(r, deltas, released);
}

int attach_module_now(Registry &r, Module &m) {
  std::vector<Delta> &deltas = scratch().deltas;
  deltas.clear();
  Module *mods[] = {&m};
  for (auto &st : r.ops) {
    if (!st->registered || st->retracing) continue;  // retrace_ops adds its own
    for (Site *s : traced_sites(mods, *st)) deltas.push_back(Delta{s, &m, st.get(), true});
  }
  if (deltas.empty()) return 0;
  return apply_deltas(r, deltas, {});
}

}  // namespace

int retire_module(Registry &r, Module &m) {
  return or_enomem([&] {
    std::vector<Delta> &deltas = scratch().deltas;
    deltas.clear();
    const Site *lo = m.sites.data(), *hi = m.sites.data() + m.sites.size();
    for (auto &st : r.ops)
      for (Site *s : st->traced)
        if (s >= lo && s < hi) deltas.push_back(Delta{s, &m, st.get(), false});
    if (!deltas.empty()) {
      int err = apply_deltas(r, deltas, {});
      // -ESTALE: already unloaded, nothing to disable; forget it as it is.
      if (err && err != -ESTALE) return err;
    }
    detach_module(r, m);
    return 0;
  });
}

void detach_module(Registry &r, Module &m) {
  const Site *lo = m.sites.data(), *hi = m.sites.data() + m.sites.size();
  for (auto &st : r.ops) {
    size_t before = st->traced.size();
    std::erase_if(st->traced, [&](const Site *s) { return s >= lo && s < hi; });
    if (st->traced.size() != before) st->traced_version++;
  }
  std::vector<void *> retired;
  // Out of memory, the walker keeps sets naming the module's addresses for
  // now: matched only if another module comes to hold the same address.
  if (r.strategy != Strategy::kCallops) walker_publish(r, true, &retired);
  bool lists =
      std::any_of(m.sites.begin(), m.sites.end(), [](const Site &s) { return s.nr_ops > 1; });
  if (!lists && retired.empty()) return;
  synchronize();  // a thread may still be leaving a list ops of this module
  for (Site &s : m.sites)
    if (s.nr_ops > 1) free(const_cast<sled_ops *>(s.ops_ref));
  walker_free(retired);
}

namespace {
// Sets r.strategy to `to` and moves the sites; the caller puts `from` back
// on failure. `retired`: the old walker data (free after a grace period).
int switch_strategy_now(Registry &r, Strategy to, std::vector<void *> *retired) {
  Strategy from = r.strategy;
  // Atomic: sled_get_strategy reads it without the lock.
  std::atomic_ref<Strategy>(r.strategy).store(to, std::memory_order_relaxed);
  // The walker must know every ops before any site calls the list trampoline.
  if (to != Strategy::kCallops)
    if (int err = walker_publish(r, true, retired)) return err;
  std::vector<SiteChange> &changes = scratch().changes;
  changes.clear();
  for (auto &m : r.modules)
    for (Site &s : m->sites) {
      if (s.nr_ops == 0) continue;
      SiteChange c{&s, m.get(), s.applied_literal, s.nr_ops, kCallNone, 0, nullptr, nullptr};
      if (int err = choose_call(r, c)) return err;
      if (code_changes(c)) changes.push_back(c);
    }
  std::vector<Delta> none;
  std::vector<const sled_ops *> released;
  if (from == Strategy::kDyntramp)
    for (auto &st : r.ops) released.push_back(st->ops);
  return apply_changes(r, changes, none, released, true);
}
}  // namespace

}  // namespace sled
