// sled's global state: modules with their sites, ops with their filters,
// statistics, the kill switch, and the lock that serialises every change.
// Nothing here touches text; update.cc turns decisions into patches.
#pragma once
#include <pthread.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "core/module.h"
#include "core/patterns.h"
#include "core/strategy.h"
#include "sled/sled.h"

namespace sled {

// A filter or notrace set: the pattern sequence since the last reset, kept
// so that modules loaded later get the same decision.
struct PatternSet {
  std::vector<Pattern> patterns;
  bool has_positive() const;
};

struct OpsState {
  sled_ops *ops = nullptr;
  PatternSet filter, notrace;
  bool registered = false;
  bool retracing = false;             // retrace_ops is retrying: refreshes leave it out
  std::vector<Site *> traced;         // sorted: sites whose accounting includes this ops
  uint64_t traced_version = 0;        // bumped when traced changes
  const struct IpSet *ips = nullptr;  // the list walker's copy of traced
  uint64_t ips_version = 0;
  // Also written to ops->internal_[0]: an ops found at this address whose
  // cookie differs is a new ops (the old one's memory was reused).
  uintptr_t cookie = 0;
};

// The ops several ops share at one site: its literal names this object,
// whose callback calls each member. Immutable once published; replaced (and
// freed after a grace period) when the set changes. A member with a direct
// trampoline is not called: the list's own direct field (core/direct.h)
// names that trampoline, for the direct-list trampoline to continue into.
struct ListOps {
  sled_ops base;
  uint32_t count;
  sled_ops *members[];
};
ListOps *list_ops_create(const std::vector<sled_ops *> &members);
bool is_list_ops(const sled_ops *ops);
extern sled_ops g_nop_ops;

struct Registry {
  pthread_mutex_t lock;  // recursive: dlclose destructors may call sled
  bool initialized = false;
  int init_error = 0;
  bool killed = false;
  Strategy strategy = Strategy::kCallops;
  std::vector<std::unique_ptr<Module>> modules;
  std::vector<std::unique_ptr<OpsState>> ops;  // registration order
  unsigned long long dl_adds = 0, dl_subs = 0;
  // Modules a dlclose wrapper took out before calling the real dlclose
  // (lifecycle.h): out of every table, no batch writes them; `closers`
  // dlclose calls are between taking them out and looking again.
  struct Closing {
    std::unique_ptr<Module> module;
    int closers = 0;
  };
  std::vector<Closing> closing;
  bool rescan = false;       // objects were left for their dlopen to judge
  uint64_t generations = 0;  // refreshes that found new modules
  sled_stats stats{};
  uintptr_t last_cookie = 0;  // per-ops cookies, never 0

  OpsState *find_ops(const sled_ops *o);
  OpsState *find_or_create_ops(sled_ops *o);
  Module *module_of(const Site *site);  // the module whose table holds it
  Site *site_at(uintptr_t entry, Module **module_out = nullptr);
};

Registry &registry();

class RegistryLock {
 public:
  RegistryLock() { pthread_mutex_lock(&registry().lock); }
  ~RegistryLock() { pthread_mutex_unlock(&registry().lock); }
  RegistryLock(const RegistryLock &) = delete;
  RegistryLock &operator=(const RegistryLock &) = delete;
};

}  // namespace sled
