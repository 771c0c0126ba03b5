// The walker itself runs inside a dispatcher read section (the trampoline
// entered it before this code loads the snapshot), so a snapshot it sees
// stays alive until it returns.
#include "core/list_walker.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "arch/frame.h"
#include "core/dispatch.h"
#include "core/thread_state.h"

namespace sled {
namespace {

struct WalkerEntry {
  sled_ops *ops;
  const IpSet *ips;
};
struct WalkerSnapshot {
  uint32_t count;
  WalkerEntry entries[];
};

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
    if (!ipset_contains(e.ips, ip)) continue;
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

void walker_publish(Registry &r, bool enabled, std::vector<void *> *retired) {
  std::vector<WalkerEntry> entries;
  if (enabled) {
    for (auto &st : r.ops) {
      if (!st->registered) continue;
      if (!st->ips || st->ips_version != st->traced_version) {
        if (st->ips) retired->push_back(const_cast<IpSet *>(st->ips));
        st->ips = ipset_build(st->traced);
        st->ips_version = st->traced_version;
      }
      if (st->ips) entries.push_back(WalkerEntry{st->ops, st->ips});
    }
  } else {
    for (auto &st : r.ops)
      if (st->ips) {
        retired->push_back(const_cast<IpSet *>(st->ips));
        st->ips = nullptr;
      }
  }
  auto *snap = static_cast<WalkerSnapshot *>(
      malloc(sizeof(WalkerSnapshot) + entries.size() * sizeof(WalkerEntry)));
  if (snap) {
    snap->count = static_cast<uint32_t>(entries.size());
    std::copy(entries.begin(), entries.end(), snap->entries);
  }
  // Release: a walker that acquires the snapshot sees its entries and sets.
  const WalkerSnapshot *old = g_snapshot.exchange(snap, std::memory_order_acq_rel);
  if (old) retired->push_back(const_cast<WalkerSnapshot *>(old));
}

void walker_free(std::vector<void *> &retired) {
  for (void *p : retired) free(p);
  retired.clear();
}

}  // namespace sled
