// Order of writes in one batch, each state in between correct:
//   1. literals (aligned 8-byte stores): an enabled site's literal names its
//      new ops before its call goes in; a disabled site's literal names the
//      nop ops before its call goes away;
//   2. calls, through arch::poke_live (the int3 protocol);
//   3. a grace period when any ops left a site or a list ops was replaced,
//      then the replaced list ops are freed.
// A mismatch of any old byte refuses the whole batch before any write and
// stops all further patching (the kill switch).
#include "core/update.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "arch/arch.h"
#include "core/error.h"
#include "core/dispatch.h"
#include "core/grace.h"
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
  const sled_ops *new_ref;   // what the literal will name
  uint16_t new_nr;
  ListOps *old_list;         // to free after the grace period
  ListOps *new_list;         // to free if the batch fails
};

constexpr uint64_t kCompiledLiteral = 0x9090909090909090ull;

uintptr_t literal_addr(const Site &s) { return s.entry - arch::kLiteralSize; }

std::vector<sled_ops *> members_of(const Site &s) {
  if (s.nr_ops == 0) return {};
  if (s.nr_ops == 1) return {const_cast<sled_ops *>(s.ops_ref)};
  auto *list = reinterpret_cast<const ListOps *>(s.ops_ref);
  return std::vector<sled_ops *>(list->members, list->members + list->count);
}

void free_new_lists(std::vector<SiteChange> &changes) {
  for (SiteChange &c : changes) free(c.new_list);
}

// Builds one SiteChange per site that deltas touch. -EBUSY/-ENOMEM.
int plan_changes(std::vector<Delta> &deltas, std::vector<SiteChange> *out) {
  std::stable_sort(deltas.begin(), deltas.end(),
                   [](const Delta &a, const Delta &b) { return a.site < b.site; });
  for (size_t i = 0; i < deltas.size();) {
    Site *site = deltas[i].site;
    std::vector<sled_ops *> members = members_of(*site);
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
    if (ipmodify > 1) {
      set_last_error("%s: another SLED_OPS_FL_IPMODIFY ops already traces it",
                     module->name_of(*site));
      free_new_lists(*out);
      return -EBUSY;
    }
    SiteChange c{site, module, &g_nop_ops, static_cast<uint16_t>(members.size()), nullptr, nullptr};
    if (members.size() == 1) c.new_ref = members[0];
    if (members.size() > 1) {
      c.new_list = list_ops_create(members);
      if (!c.new_list) {
        free_new_lists(*out);
        return -ENOMEM;
      }
      c.new_ref = &c.new_list->base;
    }
    if (site->nr_ops > 1) c.old_list = reinterpret_cast<ListOps *>(const_cast<sled_ops *>(site->ops_ref));
    out->push_back(c);
  }
  return 0;
}

bool want_call(const SiteChange &c) { return c.new_nr > 0; }

void expected_insn(const Site &s, const Module &m, bool call, uint8_t out[arch::kInsnSize]) {
  if (call)
    arch::encode_call(m.patch_of(s), m.call_target, out);
  else
    arch::encode_nop(out);
}

// Checks every byte the batch will overwrite. 0, or -EIO naming the site.
int verify_old_bytes(const std::vector<SiteChange> &changes, bool code_too) {
  for (const SiteChange &c : changes) {
    const Site &s = *c.site;
    uint64_t literal;
    std::memcpy(&literal, reinterpret_cast<const void *>(literal_addr(s)), sizeof literal);
    uint64_t want = s.applied_literal ? reinterpret_cast<uint64_t>(s.applied_literal) : kCompiledLiteral;
    uint8_t insn[arch::kInsnSize], expect[arch::kInsnSize];
    std::memcpy(insn, reinterpret_cast<const void *>(c.module->patch_of(s)), sizeof insn);
    bool applied = s.flags & kSiteCallApplied;
    expected_insn(s, *c.module, applied, expect);
    // A never-enabled site may still hold the compiler's NOP (clang's has a
    // displacement byte of 8); the first four bytes identify the form.
    size_t cmp = applied ? arch::kInsnSize : arch::kInsnSize - 1;
    bool code_ok = !code_too || std::memcmp(insn, expect, cmp) == 0;
    if (literal == want && code_ok) continue;
    uint8_t window[arch::kLiteralSize + 4 + arch::kInsnSize];
    std::memcpy(window, reinterpret_cast<const void *>(literal_addr(s)), sizeof window);
    char bytes[64];
    set_last_error("%s (%s) at %#lx: unexpected bytes [%s]; sled stopped patching",
                   c.module->name_of(s), c.module->base_name.c_str(),
                   static_cast<unsigned long>(s.entry),
                   format_bytes(window, sizeof window, bytes, sizeof bytes));
    return -EIO;
  }
  return 0;
}

void store_literal(Site &s, const sled_ops *ops) {
  // Release pairs with the dispatcher's acquire load: the ops' fields are
  // visible to a thread that reads the literal.
  arch::store_literal(literal_addr(s), reinterpret_cast<uintptr_t>(ops));
  s.applied_literal = ops;
}

int write_batch(Registry &r, std::vector<SiteChange> &changes) {
  bool code = !r.killed;
  PatchSession session;
  std::vector<arch::CodeWrite> code_writes;
  for (SiteChange &c : changes) {
    const Site &s = *c.site;
    const TextSegment *seg = c.module->segment_of(s.entry);
    int prot = seg ? seg->prot : (PROT_READ | PROT_EXEC);
    if (c.new_ref != s.applied_literal) session.add(literal_addr(s), arch::kLiteralSize, prot);
    bool applied = s.flags & kSiteCallApplied;
    if (code && want_call(c) != applied) {
      arch::CodeWrite w;
      w.addr = c.module->patch_of(s);
      std::memcpy(w.old, reinterpret_cast<const void *>(w.addr), arch::kInsnSize);
      expected_insn(s, *c.module, want_call(c), w.new_);
      code_writes.push_back(w);
      session.add(w.addr, arch::kInsnSize, prot);
    }
  }
  if (int err = session.open()) return err;
  for (SiteChange &c : changes)
    if (c.new_ref != c.site->applied_literal) {
      store_literal(*c.site, c.new_ref);
      r.stats.literal_writes++;
    }
  publish_literals();
  if (int err = arch::poke_live(code_writes)) {
    set_last_error("membarrier(SYNC_CORE) failed (%d); sled stopped patching", err);
    r.killed = true;
    return err;
  }
  session.close();
  for (SiteChange &c : changes)
    if (code && want_call(c) != bool(c.site->flags & kSiteCallApplied))
      c.site->flags ^= kSiteCallApplied;
  r.stats.sites_patched += code_writes.size();
  r.stats.patch_batches++;
  return 0;
}

void commit_traced(std::vector<Delta> &deltas) {
  std::stable_sort(deltas.begin(), deltas.end(), [](const Delta &a, const Delta &b) {
    return a.ops != b.ops ? a.ops < b.ops : a.site < b.site;
  });
  for (size_t i = 0; i < deltas.size();) {
    OpsState *st = deltas[i].ops;
    SiteSet adds, removes;
    for (; i < deltas.size() && deltas[i].ops == st; i++)
      (deltas[i].add ? adds : removes).push_back(deltas[i].site);
    st->traced = set_union(set_difference(st->traced, removes), adds);
  }
}

int apply(Registry &r, std::vector<Delta> &deltas) {
  std::vector<SiteChange> changes;
  if (int err = plan_changes(deltas, &changes)) return err;
  bool removes_any = std::any_of(deltas.begin(), deltas.end(), [](const Delta &d) { return !d.add; });
  if (r.killed && std::any_of(changes.begin(), changes.end(), [](const SiteChange &c) {
        return c.new_nr > c.site->nr_ops;
      })) {
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
    free_new_lists(changes);
    return err;
  }
  bool frees_lists = false;
  for (SiteChange &c : changes) {
    c.site->ops_ref = c.new_ref == &g_nop_ops ? nullptr : c.new_ref;
    c.site->nr_ops = c.new_nr;
    frees_lists |= c.old_list != nullptr;
  }
  commit_traced(deltas);
  if (removes_any || frees_lists) {
    synchronize();
    for (SiteChange &c : changes) free(c.old_list);
  }
  return 0;
}

}  // namespace

int retrace_ops(Registry &r, OpsState &st, const SiteSet &target) {
  std::vector<Delta> deltas;
  SiteSet adds = set_difference(target, st.traced), removes = set_difference(st.traced, target);
  for (Site *s : adds) deltas.push_back(Delta{s, r.module_of(s->entry), &st, true});
  for (Site *s : removes) deltas.push_back(Delta{s, r.module_of(s->entry), &st, false});
  if (deltas.empty()) return 0;
  return apply(r, deltas);
}

int attach_module(Registry &r, Module &m) {
  std::vector<Delta> deltas;
  Module *mods[] = {&m};
  for (auto &st : r.ops) {
    if (!st->registered) continue;
    for (Site *s : traced_sites(mods, *st)) deltas.push_back(Delta{s, &m, st.get(), true});
  }
  if (deltas.empty()) return 0;
  return apply(r, deltas);
}

void detach_module(Registry &r, Module &m) {
  const Site *lo = m.sites.data(), *hi = m.sites.data() + m.sites.size();
  for (auto &st : r.ops)
    std::erase_if(st->traced, [&](const Site *s) { return s >= lo && s < hi; });
  bool lists = std::any_of(m.sites.begin(), m.sites.end(), [](const Site &s) { return s.nr_ops > 1; });
  if (!lists) return;
  synchronize();  // a thread may still be leaving a list ops of this module
  for (Site &s : m.sites)
    if (s.nr_ops > 1) free(const_cast<sled_ops *>(s.ops_ref));
}

}  // namespace sled
