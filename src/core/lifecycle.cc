// sled's start-up runs from a constructor of libsled, normally before any
// thread exists; the first API call runs it otherwise.
#include "core/lifecycle.h"

#include <link.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "arch/arch.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/module_index.h"
#include "core/module_scan.h"
#include "core/thread_state.h"
#include "core/update.h"

namespace sled {
namespace {

// Objects already read that have no sites: not read again.
std::vector<const void *> g_siteless;

void loader_counters(unsigned long long *adds, unsigned long long *subs) {
  unsigned long long *c[2] = {adds, subs};
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *arg) {
        auto **out = static_cast<unsigned long long **>(arg);
        *out[0] = info->dlpi_adds;
        *out[1] = info->dlpi_subs;
        return 1;
      },
      c);
}

bool known(const Registry &r, const LoadedObject &o) {
  for (const auto &m : r.modules)
    if (m->phdr_key == o.phdr_key && m->bias == o.bias) return true;
  return std::find(g_siteless.begin(), g_siteless.end(), o.phdr_key) != g_siteless.end();
}

}  // namespace

int ensure_initialized(Registry &r) {
  if (r.initialized) return r.init_error;
  r.initialized = true;
  resolve_real_dl_functions();
  thread_state_init();
  if (grace_init() != 0 || arch::live_patching_init() != 0) {
    r.init_error = -ENOSYS;
    return r.init_error;
  }
  if (const char *env = getenv("SLED_STRATEGY"); env && *env) {
    // No site is traced yet: the strategy applies from the first register.
    if (parse_strategy(env, &r.strategy) != 0)
      fprintf(stderr,
              "sled: SLED_STRATEGY=%s is not a strategy (callops, list, dyntramp); "
              "using callops\n",
              env);
  }
  refresh_modules(r, true, process_is_single_threaded());
  return 0;
}

void refresh_modules(Registry &r, bool force, bool just_loaded) {
  unsigned long long adds = 0, subs = 0;
  loader_counters(&adds, &subs);
  if (!force && adds == r.dl_adds && subs == r.dl_subs) return;
  std::vector<LoadedObject> objs = list_loaded_objects(&r.dl_adds, &r.dl_subs);

  auto present = [&](const void *key, uintptr_t bias) {
    return std::any_of(objs.begin(), objs.end(),
                       [&](const LoadedObject &o) { return o.phdr_key == key && o.bias == bias; });
  };
  // Freed after a grace period: a callback may be reading them
  // (sled_site_lookup's lock-free path, module_index.h).
  std::vector<std::unique_ptr<Module>> gone;
  for (size_t i = 0; i < r.modules.size();) {
    if (present(r.modules[i]->phdr_key, r.modules[i]->bias)) {
      i++;
      continue;
    }
    detach_module(r, *r.modules[i]);
    module_index_remove(r.modules[i].get());
    gone.push_back(std::move(r.modules[i]));
    r.modules.erase(r.modules.begin() + static_cast<long>(i));
  }
  if (!gone.empty()) synchronize();
  std::erase_if(g_siteless, [&](const void *key) {
    return std::none_of(objs.begin(), objs.end(),
                        [&](const LoadedObject &o) { return o.phdr_key == key; });
  });

  bool single = just_loaded || process_is_single_threaded();
  for (const LoadedObject &o : objs) {
    if (known(r, o)) continue;
    std::unique_ptr<Module> m = scan_module(o, single, &r.stats);
    if (!m) {
      g_siteless.push_back(o.phdr_key);
      continue;
    }
    r.modules.push_back(std::move(m));
    module_index_add(r.modules.back().get());
    if (int err = attach_module(r, *r.modules.back()))
      set_last_error("new module %s: its sites could not be enabled (%d)",
                     r.modules.back()->base_name.c_str(), err);
  }
}

namespace {
__attribute__((constructor)) void sled_on_load() {
  Registry &r = registry();
  RegistryLock lock;
  ensure_initialized(r);
}
}  // namespace

}  // namespace sled
