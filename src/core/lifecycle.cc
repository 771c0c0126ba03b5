// sled's start-up runs from a constructor of libsled, normally before any
// thread exists; the first API call runs it otherwise.
#include "core/lifecycle.h"

#include <link.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

#include "arch/arch.h"
#include "core/error.h"
#include "core/grace.h"
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
  // So little memory that the C++ runtime may have no emergency pool to
  // throw std::bad_alloc from (a throw would then terminate): do not start
  // at all; the program runs untraced, every call says why. libstdc++
  // allocates its pool (~72 KiB) from the heap at load; a heap allocation
  // of more than that (under malloc's mmap threshold: the same route)
  // failing now says it probably could not.
  constexpr size_t kStartReserve = 1 << 20;
  void *probe = malloc(kStartReserve);
  if (!probe) {
    r.init_error = -ENOMEM;
    return r.init_error;
  }
  free(probe);
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
  try {
    refresh_modules(r, true, process_is_single_threaded());
  } catch (const std::exception &) {  // bad_alloc, length_error (core/oom.h)
    // Out of memory at start-up: the program runs untraced, and every call
    // says why. No ops exists yet, so the modules found so far just go.
    r.modules.clear();
    r.init_error = -ENOMEM;
  }
  return r.init_error;
}

void refresh_modules(Registry &r, bool force, bool just_loaded) {
  unsigned long long adds = 0, subs = 0;
  loader_counters(&adds, &subs);
  if (!force && adds == r.dl_adds && subs == r.dl_subs) return;
  // The counters are recorded only once the refresh is complete: one cut
  // short (out of memory) is redone by the next call.
  unsigned long long listed_adds = 0, listed_subs = 0;
  std::vector<LoadedObject> objs = list_loaded_objects(&listed_adds, &listed_subs);

  auto present = [&](const void *key, uintptr_t bias) {
    return std::any_of(objs.begin(), objs.end(),
                       [&](const LoadedObject &o) { return o.phdr_key == key && o.bias == bias; });
  };
  for (size_t i = 0; i < r.modules.size();) {
    if (present(r.modules[i]->phdr_key, r.modules[i]->bias)) {
      i++;
      continue;
    }
    detach_module(r, *r.modules[i]);
    r.modules.erase(r.modules.begin() + static_cast<long>(i));
  }
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
    int err = attach_module(r, *r.modules.back());
    if (err == -ENOMEM) {
      // Nothing was written: forget the module and cut the refresh short,
      // like any allocation failure; the next call reads it again.
      r.modules.pop_back();
      throw std::bad_alloc();
    }
    if (err)
      set_last_error("new module %s: its sites could not be enabled (%d)",
                     r.modules.back()->base_name.c_str(), err);
  }
  r.dl_adds = listed_adds;
  r.dl_subs = listed_subs;
}

void forget_unloaded_modules(Registry &r) {
  struct Key {
    const void *phdr;
    uintptr_t bias;
    bool found;
  };
  for (size_t i = 0; i < r.modules.size();) {
    Key key{r.modules[i]->phdr_key, r.modules[i]->bias, false};
    dl_iterate_phdr(
        [](struct dl_phdr_info *info, size_t, void *arg) {
          auto *k = static_cast<Key *>(arg);
          k->found = info->dlpi_phdr == k->phdr && info->dlpi_addr == k->bias;
          return k->found ? 1 : 0;
        },
        &key);
    if (key.found) {
      i++;
      continue;
    }
    try {
      detach_module(r, *r.modules[i]);
    } catch (const std::exception &) {
      // Its sites already left every traced set; what it leaks is memory.
    }
    r.modules.erase(r.modules.begin() + static_cast<long>(i));
  }
}

namespace {
__attribute__((constructor)) void sled_on_load() {
  try {
    Registry &r = registry();
    RegistryLock lock;
    ensure_initialized(r);
  } catch (const std::exception &) {
    // Out of memory before sled could record it (core/oom.h): the next
    // sled call starts it, or reports -ENOMEM. The program runs on.
  }
}
}  // namespace

}  // namespace sled
