// Slots in chunks that are never freed (a reader may hold a chunk pointer
// at any time); a freed slot is reused only by a later add, after the
// grace period that freed its module. Site fields that change while
// modules are loaded (nr_ops, the applied literal and call) are read with
// relaxed atomic loads by the callers (api.cc), matching update.cc's
// stores; everything else in a published module is immutable.
#include "core/module_index.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace sled {
namespace {

constexpr size_t kSlots = 63;

struct Chunk {
  std::atomic<const Module *> slots[kSlots];
  std::atomic<Chunk *> next;
};

Chunk g_first;  // zero-initialised: every slot empty

template <class Fn>
void for_each_module(Fn fn) {
  for (Chunk *c = &g_first; c; c = c->next.load(std::memory_order_acquire))
    for (auto &slot : c->slots)
      // Acquire pairs with the add's release: the module's tables are
      // complete for us.
      if (const Module *m = slot.load(std::memory_order_acquire))
        if (fn(m)) return;
}

}  // namespace

void module_index_add(const Module *m) {
  Chunk *c = &g_first;
  for (;;) {
    for (auto &slot : c->slots)
      // Relaxed read: writers are serialised by the registry lock.
      if (!slot.load(std::memory_order_relaxed)) {
        slot.store(m, std::memory_order_release);
        return;
      }
    Chunk *next = c->next.load(std::memory_order_relaxed);
    if (!next) {
      next = static_cast<Chunk *>(calloc(1, sizeof(Chunk)));
      if (!next) return;  // the module is then not seen from callbacks
      c->next.store(next, std::memory_order_release);
    }
    c = next;
  }
}

void module_index_remove(const Module *m) {
  for (Chunk *c = &g_first; c; c = c->next.load(std::memory_order_relaxed))
    for (auto &slot : c->slots)
      if (slot.load(std::memory_order_relaxed) == m) {
        // A reader that still loads m is inside a section: the grace
        // period before m is freed waits for it.
        slot.store(nullptr, std::memory_order_relaxed);
        return;
      }
}

const Site *module_index_find(uintptr_t entry, const Module **module_out) {
  const Site *found = nullptr;
  for_each_module([&](const Module *m) {
    auto it = std::lower_bound(m->sites.begin(), m->sites.end(), entry,
                               [](const Site &s, uintptr_t e) { return s.entry < e; });
    if (it == m->sites.end() || it->entry != entry) return false;
    found = &*it;
    *module_out = m;
    return true;
  });
  return found;
}

size_t module_index_site_count() {
  size_t n = 0;
  for_each_module([&](const Module *m) {
    n += m->sites.size();
    return false;
  });
  return n;
}

}  // namespace sled
