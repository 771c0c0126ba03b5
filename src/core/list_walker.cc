// The walker itself runs inside a dispatcher read section (the trampoline
// entered it before this code loads the snapshot), so a snapshot it sees
// stays alive until it returns.
#include "core/list_walker.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <exception>

#include "arch/frame.h"
#include "core/direct.h"
#include "core/dispatch.h"
#include "core/thread_state.h"

namespace sled {

struct WalkerEntry {
  sled_ops *ops;
  const IpSet *ips;
};
struct WalkerSnapshot {
  uint32_t count;
  WalkerEntry entries[];
};

namespace {

std::atomic<const WalkerSnapshot *> g_snapshot{nullptr};

inline uint64_t hash_ip(uintptr_t ip) { return (ip >> 4) * 0x9e3779b97f4a7c15ull; }

IpSet *ipset_build(const std::vector<Site *> &sites) {
  uint64_t cap = 16;
  while (cap < sites.size() * 2) cap <<= 1;
  auto *set = static_cast<IpSet *>(calloc(1, sizeof(IpSet) + cap * sizeof(uintptr_t)));
  if (!set) return nullptr;
  set->mask = cap - 1;
  for (const Site *s : sites) {
    uint64_t i = hash_ip(s->entry) & set->mask;
    while (set->slots[i]) i = (i + 1) & set->mask;
    set->slots[i] = s->entry;
  }
  return set;
}

void walk(uintptr_t ip, uintptr_t parent_ip, sled_ops *, sled_regs *regs);
}  // namespace
}  // namespace sled

extern "C" __attribute__((visibility("hidden")))
sled_ops sled_list_walker_ops = {sled::walk, nullptr, SLED_OPS_FL_RECURSION_SAFE, 0, {}};

namespace sled {
namespace {

void walk(uintptr_t ip, uintptr_t parent_ip, sled_ops *, sled_regs *regs) {
  const WalkerSnapshot *snap = g_snapshot.load(std::memory_order_acquire);
  if (!snap) return;
  uint32_t depth = sled_thread_record->nest.load(std::memory_order_relaxed) - 1;
  for (uint32_t i = 0; i < snap->count; i++) {
    const WalkerEntry &e = snap->entries[i];
    if (direct_of(e.ops) || !ipset_contains(e.ips, ip)) continue;  // no callback
    if (depth != 0 && !(e.ops->flags & SLED_OPS_FL_RECURSION_SAFE)) continue;
    regs->ops = e.ops;
    e.ops->func(ip, parent_ip, e.ops, regs);
  }
  regs->ops = &sled_list_walker_ops;
}

}  // namespace

bool ipset_contains(const IpSet *set, uintptr_t ip) {
  for (uint64_t i = hash_ip(ip) & set->mask;; i = (i + 1) & set->mask) {
    uintptr_t v = set->slots[i];
    if (v == ip) return true;
    if (v == 0) return false;
  }
}

bool walker_lists(const sled_ops *ops) {
  // Relaxed: only writers, serialised by the registry lock, publish.
  const WalkerSnapshot *snap = g_snapshot.load(std::memory_order_relaxed);
  for (uint32_t i = 0; snap && i < snap->count; i++)
    if (snap->entries[i].ops == ops) return true;
  return false;
}

void walker_discard(WalkerUpdate &u) {
  for (auto &[st, set] : u.built) free(set);
  u.built.clear();
  free(u.snapshot);
  u.snapshot = nullptr;
  u.ready = false;
}

int walker_prepare(Registry &r, bool enabled, const TracedLookup &fresh, WalkerUpdate *u,
                   std::vector<void *> *retired) {
  walker_discard(*u);
  u->enabled = enabled;
  size_t count = 0;
  if (enabled) {
    for (auto &st : r.ops) {
      if (!st->registered) continue;
      const std::vector<Site *> *traced = fresh ? fresh(*st) : nullptr;
      if (!traced && (!st->ips || st->ips_version != st->traced_version)) traced = &st->traced;
      if (traced) {
        u->built.emplace_back(st.get(), nullptr);
        if (!(u->built.back().second = ipset_build(*traced))) break;
      }
      count++;
    }
    if (!u->built.empty() && !u->built.back().second) {
      walker_discard(*u);
      return -ENOMEM;
    }
  }
  u->snapshot =
      static_cast<WalkerSnapshot *>(malloc(sizeof(WalkerSnapshot) + count * sizeof(WalkerEntry)));
  if (!u->snapshot) {
    walker_discard(*u);
    return -ENOMEM;
  }
  // Room for everything the commit retires: every set and the old snapshot.
  retired->reserve(retired->size() + r.ops.size() + 1);
  u->ready = true;
  return 0;
}

void walker_commit(Registry &r, WalkerUpdate &u, std::vector<void *> *retired) {
  if (!u.ready) return;
  for (auto &[st, set] : u.built) {
    if (st->ips) retired->push_back(const_cast<IpSet *>(st->ips));
    st->ips = set;
    st->ips_version = st->traced_version;
  }
  u.built.clear();
  WalkerSnapshot *snap = u.snapshot;
  snap->count = 0;
  for (auto &st : r.ops) {
    if (!u.enabled) {
      if (st->ips) retired->push_back(const_cast<IpSet *>(st->ips));
      st->ips = nullptr;
    } else if (st->registered && st->ips) {
      snap->entries[snap->count++] = WalkerEntry{st->ops, st->ips};
    }
  }
  // Release: a walker that acquires the snapshot sees its entries and sets.
  const WalkerSnapshot *old = g_snapshot.exchange(snap, std::memory_order_acq_rel);
  if (old) retired->push_back(const_cast<WalkerSnapshot *>(old));
  u.snapshot = nullptr;
  u.ready = false;
}

int walker_publish(Registry &r, bool enabled, std::vector<void *> *retired) {
  WalkerUpdate u;
  try {
    if (int err = walker_prepare(r, enabled, nullptr, &u, retired)) return err;
  } catch (const std::exception &) {  // bad_alloc from a vector (core/oom.h)
    walker_discard(u);
    return -ENOMEM;
  }
  walker_commit(r, u, retired);
  return 0;
}

void walker_free(std::vector<void *> &retired) {
  for (void *p : retired) free(p);
  retired.clear();
}

}  // namespace sled
