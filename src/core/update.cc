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
// stops all further patching (the kill switch). A failure after step 1
// (poke_live: membarrier denied by a sandbox) puts every literal back and
// waits a grace period before returning, so no site names, and no thread
// runs, an ops the caller is told was not registered (it may free it).
#include "core/update.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "arch/arch.h"
#include "core/dispatch.h"
#include "core/dyntramp.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/list_walker.h"
#include "core/patch_session.h"

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
struct Scratch {
  std::vector<Delta> deltas;
  std::vector<SiteChange> changes;
  std::vector<arch::CodeWrite> code_writes;
  SiteSet adds, removes;
};
Scratch &scratch() {
  static Scratch *s = new Scratch();
  return *s;
}

uintptr_t literal_addr(const Site &s) { return s.entry - arch::kLiteralSize; }

void members_of(const Site &s, std::vector<sled_ops *> *out) {
  out->clear();
  if (s.nr_ops == 1) out->push_back(const_cast<sled_ops *>(s.ops_ref));
  if (s.nr_ops > 1) {
    auto *list = reinterpret_cast<const ListOps *>(s.ops_ref);
    out->assign(list->members, list->members + list->count);
  }
}

void free_new_lists(std::vector<SiteChange> &changes) {
  for (SiteChange &c : changes) free(c.new_list);
}

int no_reach(const Module &m, const Site &s) {
  set_last_error("%s (%s): no memory within call reach for a trampoline", m.name_of(s),
                 m.base_name.c_str());
  return -ENOMEM;
}

// Fills the call half of a change from the strategy. 0 or -ENOMEM.
int choose_call(Registry &r, SiteChange &c) {
  c.new_call = desired_call(r.strategy, c.new_nr);
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
    SiteChange c{site,      module, &g_nop_ops, static_cast<uint16_t>(members.size()),
                 kCallNone, 0,      nullptr,    nullptr};
    if (!err && members.size() == 1) c.new_ref = members[0];
    if (!err && members.size() > 1) {
      c.new_list = list_ops_create(members);
      if (c.new_list)
        c.new_ref = &c.new_list->base;
      else
        err = -ENOMEM;
    }
    if (!err) err = choose_call(r, c);
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
  // Same kind: only a generated trampoline depends on which ops.
  return c.new_call == kCallDyn && c.new_ref != c.site->applied_literal;
}

// Checks every byte the batch will overwrite. 0, or -EIO naming the site.
int verify_old_bytes(const std::vector<SiteChange> &changes, bool code_too) {
  for (const SiteChange &c : changes) {
    const Site &s = *c.site;
    uint64_t literal = arch::load_literal(literal_addr(s));
    uint64_t want =
        s.applied_literal ? reinterpret_cast<uint64_t>(s.applied_literal) : kCompiledLiteral;
    bool code_ok = true;
    if (code_too) {
      const auto *insn = reinterpret_cast<const uint8_t *>(c.module->patch_of(s));
      uint8_t expect[arch::kInsnSize];
      // A never-enabled site may still hold the compiler's NOP (x86: clang's
      // has a displacement byte of 8); kNopCompareBytes identify the form.
      size_t cmp = applied_call(s) != kCallNone ? arch::kInsnSize : arch::kNopCompareBytes;
      code_ok = expected_insn(s, *c.module, expect);
      for (size_t i = 0; i < cmp && code_ok; i++) code_ok = insn[i] == expect[i];
    }
    if (literal == want && code_ok) continue;
    uint8_t window[arch::kSiteWindow];
    std::memcpy(window, reinterpret_cast<const void *>(literal_addr(s)), sizeof window);
    char bytes[80];
    set_last_error("%s (%s) at %#lx: unexpected bytes [%s]; sled stopped patching",
                   c.module->name_of(s), c.module->base_name.c_str(),
                   static_cast<unsigned long>(s.entry),
                   format_bytes(window, sizeof window, bytes, sizeof bytes));
    return -EIO;
  }
  return 0;
}

// Puts back every literal a failed batch wrote, then waits a grace period:
// afterwards no site names an ops of the batch and no thread runs one, so
// the caller may forget (and its client free) them. The calls the batch may
// have moved still point at a trampoline, which reads the restored literal.
void restore_literals(Registry &r, std::vector<SiteChange> &changes) {
  publish_literals();
  for (SiteChange &c : changes)
    if (c.new_ref != c.old_literal && c.site->applied_literal == c.new_ref) {
      uintptr_t old = c.old_literal ? reinterpret_cast<uintptr_t>(c.old_literal) : kCompiledLiteral;
      arch::store_literal(literal_addr(*c.site), old);
      std::atomic_ref<const sled_ops *>(c.site->applied_literal)
          .store(c.old_literal, std::memory_order_relaxed);  // see module.h
      r.stats.literal_writes++;
    }
  synchronize();
}

// On failure every literal is back as it was and no thread runs an ops of
// the batch (restore_literals): the caller may free the new list ops.
int write_batch(Registry &r, std::vector<SiteChange> &changes) {
  bool code = !r.killed;
  PatchSession session;
  std::vector<arch::CodeWrite> &code_writes = scratch().code_writes;
  code_writes.clear();
  code_writes.reserve(changes.size());
  for (SiteChange &c : changes) {
    const Site &s = *c.site;
    const TextSegment *seg = c.module->segment_of(s.entry);
    int prot = seg ? seg->prot : (PROT_READ | PROT_EXEC);
    if (c.new_ref != s.applied_literal) session.add(literal_addr(s), arch::kLiteralSize, prot);
    if (code && code_changes(c)) {
      arch::CodeWrite w;
      w.addr = c.module->patch_of(s);
      std::memcpy(w.old, reinterpret_cast<const void *>(w.addr), arch::kInsnSize);
      if (c.new_call == kCallNone)
        arch::encode_nop(w.new_);
      else
        arch::encode_call(w.addr, c.new_target, w.new_);
      code_writes.push_back(w);
      session.add(w.addr, arch::kInsnSize, prot);
    }
  }
  if (int err = session.open()) return err;
  // Before the literal stores: a thread that sees a new literal sees this
  // publication too (TSan's happens-before; see dispatch.h).
  publish_literals();
  for (SiteChange &c : changes) c.old_literal = c.site->applied_literal;
  for (SiteChange &c : changes)
    if (c.new_ref != c.site->applied_literal) {
      // Release pairs with the dispatcher's acquire load: the ops' fields
      // are visible to a thread that reads the literal.
      arch::store_literal(literal_addr(*c.site), reinterpret_cast<uintptr_t>(c.new_ref));
      std::atomic_ref<const sled_ops *>(c.site->applied_literal)
          .store(c.new_ref, std::memory_order_relaxed);  // see module.h
      r.stats.literal_writes++;
    }
  if (int err = arch::poke_live(code_writes)) {
    // Which calls went in is unknown: stop patching code for good. The
    // literals go back, so the ops of this batch are unreachable.
    r.killed = true;
    restore_literals(r, changes);
    set_last_error("membarrier(SYNC_CORE) failed (%s); sled stopped patching", sled_strerror(err));
    return err;
  }
  session.close();
  if (code)
    for (SiteChange &c : changes) set_applied_call(*c.site, c.new_call);
  r.stats.sites_patched += code_writes.size();
  r.stats.patch_batches++;
  return 0;
}

void commit_traced(std::vector<Delta> &deltas) {
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
    if (removes.size() == st->traced.size() && adds.empty())
      st->traced.clear();  // unregister: everything goes
    else if (removes.empty() && st->traced.empty())
      st->traced.assign(adds.begin(), adds.end());
    else if (removes.empty())
      st->traced = set_union(st->traced, adds);
    else
      st->traced = set_union(set_difference(st->traced, removes), adds);
    st->traced_version++;
  }
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
  int err = verify_old_bytes(changes, !r.killed);
  if (err) {
    r.killed = true;
    r.stats.patch_failures++;
  }
  if (!err) err = write_batch(r, changes);
  if (err) {
    free_new_lists(changes);  // no literal names them (write_batch)
    return err;
  }
  bool grace = force_grace || !released.empty();
  for (SiteChange &c : changes) {
    grace |= c.new_nr < c.site->nr_ops || c.old_list != nullptr;
    c.site->ops_ref = c.new_ref == &g_nop_ops ? nullptr : c.new_ref;
    std::atomic_ref<uint16_t>(c.site->nr_ops).store(c.new_nr, std::memory_order_relaxed);
  }
  grace |= std::any_of(deltas.begin(), deltas.end(), [](const Delta &d) { return !d.add; });
  commit_traced(deltas);
  std::vector<void *> retired;
  if (r.strategy != Strategy::kCallops || force_grace)
    walker_publish(r, r.strategy != Strategy::kCallops, &retired);
  grace |= !retired.empty();
  if (grace) {
    synchronize();
    for (SiteChange &c : changes) free(c.old_list);
    walker_free(retired);
    for (const sled_ops *o : released) dyntramp_release(o);
  }
  return 0;
}

int apply_deltas(Registry &r, std::vector<Delta> &deltas,
                 const std::vector<const sled_ops *> &released) {
  std::vector<SiteChange> &changes = scratch().changes;
  changes.clear();
  if (int err = plan_changes(r, deltas, &changes)) return err;
  return apply_changes(r, changes, deltas, released, false);
}

}  // namespace

int retrace_ops(Registry &r, OpsState &st, const SiteSet &target) {
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
  if (deltas.empty()) return 0;
  return apply_deltas(r, deltas, released);
}

int attach_module(Registry &r, Module &m) {
  std::vector<Delta> &deltas = scratch().deltas;
  deltas.clear();
  Module *mods[] = {&m};
  for (auto &st : r.ops) {
    if (!st->registered) continue;
    for (Site *s : traced_sites(mods, *st)) deltas.push_back(Delta{s, &m, st.get(), true});
  }
  if (deltas.empty()) return 0;
  return apply_deltas(r, deltas, {});
}

void detach_module(Registry &r, Module &m) {
  const Site *lo = m.sites.data(), *hi = m.sites.data() + m.sites.size();
  for (auto &st : r.ops) {
    size_t before = st->traced.size();
    std::erase_if(st->traced, [&](const Site *s) { return s >= lo && s < hi; });
    if (st->traced.size() != before) st->traced_version++;
  }
  std::vector<void *> retired;
  if (r.strategy != Strategy::kCallops) walker_publish(r, true, &retired);
  bool lists =
      std::any_of(m.sites.begin(), m.sites.end(), [](const Site &s) { return s.nr_ops > 1; });
  if (!lists && retired.empty()) return;
  synchronize();  // a thread may still be leaving a list ops of this module
  for (Site &s : m.sites)
    if (s.nr_ops > 1) free(const_cast<sled_ops *>(s.ops_ref));
  walker_free(retired);
}

int switch_strategy(Registry &r, Strategy to) {
  if (r.strategy == to) return 0;
  if (r.killed) {
    set_last_error("sled stopped patching after an earlier anomaly");
    return -ENOTRECOVERABLE;
  }
  Strategy from = r.strategy;
  // Atomic: sled_get_strategy reads it without the lock.
  std::atomic_ref<Strategy>(r.strategy).store(to, std::memory_order_relaxed);
  // The walker must know every ops before any site calls the list trampoline.
  std::vector<void *> retired;
  if (to != Strategy::kCallops) walker_publish(r, true, &retired);
  std::vector<SiteChange> &changes = scratch().changes;
  changes.clear();
  int err = 0;
  for (auto &m : r.modules)
    for (Site &s : m->sites) {
      if (s.nr_ops == 0) continue;
      SiteChange c{&s, m.get(), s.applied_literal, s.nr_ops, kCallNone, 0, nullptr, nullptr};
      if ((err = choose_call(r, c))) break;
      if (code_changes(c)) changes.push_back(c);
    }
  std::vector<Delta> none;
  std::vector<const sled_ops *> released;
  if (from == Strategy::kDyntramp)
    for (auto &st : r.ops) released.push_back(st->ops);
  if (!err) err = apply_changes(r, changes, none, released, true);
  if (err) {
    std::atomic_ref<Strategy>(r.strategy).store(from, std::memory_order_relaxed);
    std::vector<void *> more;
    walker_publish(r, from != Strategy::kCallops, &more);
    synchronize();
    walker_free(retired);
    walker_free(more);
  } else {
    walker_free(retired);  // apply_changes ran a grace period after publishing
  }
  return err;
}

}  // namespace sled
