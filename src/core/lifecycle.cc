// sled's start-up runs from a constructor of libsled, normally before any
// thread exists; the first API call runs it otherwise.
#include "core/lifecycle.h"

#include <link.h>
#include <pthread.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "arch/arch.h"
#include "core/dl_inflight.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/module_identity.h"
#include "core/module_index.h"
#include "core/module_scan.h"
#include "core/namespaces.h"
#include "core/thread_state.h"
#include "core/update.h"

namespace sled {
namespace {

// Objects already read that have no sites: not read again while the same
// file stays at the same place.
struct Siteless {
  const void *phdr_key;
  uintptr_t bias;
  std::string name;
};
std::vector<Siteless> g_siteless;
// True during the start-up scan: its modules are generation 0.
bool g_startup = false;

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

bool is_siteless(const LoadedObject &o) {
  return std::any_of(g_siteless.begin(), g_siteless.end(), [&](const Siteless &s) {
    return s.phdr_key == o.phdr_key && s.bias == o.bias && s.name == o.listed_name;
  });
}

bool known(const Registry &r, const LoadedObject &o) {
  for (const auto &m : r.modules)
    if (same_place(m->id, o)) return true;
  for (const auto &c : r.closing)
    if (same_place(c.module->id, o)) return true;
  return is_siteless(o);
}

// May the one-time rewrite (GCC's NOPs, aarch64's `mov x9, x30`) be done
// now in the modules about to be read? Only if no thread can be running
// their code: the process has one thread, or these modules come from the
// dlopen that calls us and no thread appeared while it ran their
// constructors.
bool may_normalize(bool from_dlopen) {
  if (process_is_single_threaded()) return true;
  return from_dlopen && !threads_started_during_dlopen();
}

size_t unsafe_sites(const Module &m) {
  return static_cast<size_t>(std::count_if(m.sites.begin(), m.sites.end(), [](const Site &s) {
    return s.refusal == SLED_SITE_UNSAFE_NOPS;
  }));
}

// Modules out of the list (and of module_index): a callback may still be
// reading them through sled_site_lookup's lock-free path, so they are
// freed only after a grace period.
void free_after_grace(std::vector<std::unique_ptr<Module>> &gone) {
  if (gone.empty()) return;
  synchronize();
  gone.clear();
}

Registry::Closing *closing_entry(Registry &r, const Module *m) {
  for (auto &c : r.closing)
    if (c.module.get() == m) return &c;
  return nullptr;
}

// Modules taken out for dlclose calls that have all returned: those still
// loaded (the same load; another handle holds them) come back with every
// registered ops' filter applied again; the others are dropped.
void put_back_closed(Registry &r) {
  // Everything that allocates happens before the first module moves: an
  // allocation failure then leaves them all in r.closing, to come back at
  // the next refresh (core/oom.h).
  std::vector<Module *> ready;
  for (auto &c : r.closing)
    if (c.closers == 0) ready.push_back(c.module.get());
  if (ready.empty()) return;
  std::vector<char> alive = still_loaded(ready);
  std::vector<std::unique_ptr<Module>> gone;
  gone.reserve(ready.size());
  r.modules.reserve(r.modules.size() + ready.size());
  std::vector<Module *> back;
  back.reserve(ready.size());
  for (size_t k = 0; k < ready.size(); k++) {
    auto it = std::find_if(r.closing.begin(), r.closing.end(),
                           [&](const Registry::Closing &c) { return c.module.get() == ready[k]; });
    std::unique_ptr<Module> mod = std::move(it->module);
    r.closing.erase(it);
    if (!alive[k]) {
      gone.push_back(std::move(mod));
      continue;
    }
    r.modules.push_back(std::move(mod));
    module_index_add(r.modules.back().get());
    back.push_back(r.modules.back().get());
  }
  free_after_grace(gone);
  for (Module *m : back)
    if (int err = attach_module(r, *m))
      set_last_error("module %s: its sites could not be enabled again after dlclose (%d)",
                     m->base_name.c_str(), err);
}

// A fork child has only the forking thread: the dlclose calls of other
// threads that had taken modules out will never put them back.
void forget_other_closers() {
  Registry &r = registry();
  for (auto &c : r.closing) c.closers = 0;
  if (!r.closing.empty()) r.rescan = true;
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
  pthread_atfork(nullptr, nullptr, forget_other_closers);
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
  g_startup = true;
  try {
    refresh_modules(r, true, false);
  } catch (const std::exception &) {  // bad_alloc, length_error (core/oom.h)
    // Out of memory at start-up: the program runs untraced, and every call
    // says why. No ops exists yet, so the modules found so far just go.
    for (auto &m : r.modules) module_index_remove(m.get());
    synchronize();
    r.modules.clear();
    r.init_error = -ENOMEM;
  }
  g_startup = false;
  return r.init_error;
}

void refresh_modules(Registry &r, bool force, bool from_dlopen) {
  unsigned long long adds = 0, subs = 0;
  loader_counters(&adds, &subs);
  if (!force && !r.rescan && adds == r.dl_adds && subs == r.dl_subs) return;
  // Read before listing: a dlopen that began since may have half-loaded
  // objects in the list (see dl_inflight.cc for the ordering).
  uint64_t begins = dlopen_begins();
  // The counters are recorded only once the refresh is complete: one cut
  // short (out of memory) is redone by the next call.
  unsigned long long listed_adds = 0, listed_subs = 0;
  std::vector<LoadedObject> objs = list_loaded_objects(&listed_adds, &listed_subs);
  put_back_closed(r);
  r.rescan = false;  // after the put-back: one cut short is redone

  // Modules gone, or replaced at the same place by another load: forgotten
  // without writing a byte (their text is not theirs any more).
  std::vector<Module *> mods;
  for (auto &m : r.modules) mods.push_back(m.get());
  std::vector<char> alive = still_loaded(mods);
  // Freed after a grace period: a callback may be reading them
  // (sled_site_lookup's lock-free path, module_index.h).
  std::vector<std::unique_ptr<Module>> gone;
  gone.reserve(r.modules.size());  // nothing below may throw once a module moves
  for (size_t i = r.modules.size(); i-- > 0;) {
    if (alive[i]) continue;
    detach_module(r, *r.modules[i]);
    module_index_remove(r.modules[i].get());
    gone.push_back(std::move(r.modules[i]));
    r.modules.erase(r.modules.begin() + static_cast<long>(i));
  }
  free_after_grace(gone);
  std::erase_if(g_siteless, [&](const Siteless &s) {
    return std::none_of(objs.begin(), objs.end(), [&](const LoadedObject &o) {
      return o.phdr_key == s.phdr_key && o.bias == s.bias && o.listed_name == s.name;
    });
  });

  // New objects are judged by the dlopen that loaded them, or by anyone
  // when no dlopen is in flight; otherwise they wait (rescan).
  bool quiet = dlopens_in_flight() == (from_dlopen ? 1 : 0) && dlopen_begins() == begins;
  int normalize = -1;  // decided once, when the first new object needs it
  bool new_generation = false;
  for (const LoadedObject &o : objs) {
    if (known(r, o)) continue;
    if (!quiet) {
      r.rescan = true;
      continue;
    }
    if (normalize < 0) normalize = may_normalize(from_dlopen) ? 1 : 0;
    bool gone = false;
    std::unique_ptr<Module> m = scan_module(o, normalize == 1, &r.stats, &gone);
    if (gone) {
      r.rescan = true;
      continue;
    }
    if (!m) {
      g_siteless.push_back(Siteless{o.phdr_key, o.bias, o.listed_name});
      continue;
    }
    if (!new_generation && !g_startup) r.generations++;
    new_generation = true;
    m->generation = g_startup ? 0 : r.generations;
    if (normalize == 0 && from_dlopen && unsafe_sites(*m))
      set_last_error(
          "%s: a thread started while dlopen ran its constructors: its one-time entry "
          "rewrite is unsafe, %zu sites refused (UNSAFE_NOPS)",
          m->base_name.c_str(), unsafe_sites(*m));
    r.modules.push_back(std::move(m));
    module_index_add(r.modules.back().get());
    bool out_of_memory = false;
    int err = attach_module(r, *r.modules.back(), &out_of_memory);
    if (out_of_memory) {
      // Nothing was written: forget the module and cut the refresh short,
      // like any allocation failure; the next call reads it again.
      module_index_remove(r.modules.back().get());
      synchronize();  // see free_after_grace; allocates nothing
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
    auto find = [](struct dl_phdr_info *info, size_t, void *arg) {
      auto *k = static_cast<Key *>(arg);
      if (info->dlpi_phdr == k->phdr && info->dlpi_addr == k->bias) k->found = true;
      return k->found ? 1 : 0;
    };
    dl_iterate_phdr(find, &key);
    if (!key.found) for_each_object_of_other_namespaces(find, &key);  // dlmopen
    if (key.found) {
      i++;
      continue;
    }
    try {
      detach_module(r, *r.modules[i]);
    } catch (const std::exception &) {
      // Its sites already left every traced set; what it leaks is memory.
    }
    module_index_remove(r.modules[i].get());
    synchronize();  // see free_after_grace
    r.modules.erase(r.modules.begin() + static_cast<long>(i));
  }
  r.rescan = true;  // what survived is read again at the next call
}

std::vector<Module *> take_out_for_dlclose(Registry &r, const void *handle) {
  std::vector<Module *> taken;
  if (!handle) return taken;
  // A handle is its object's link_map: l_addr is the bias, l_ld its
  // PT_DYNAMIC in memory.
  uintptr_t bias = 0, dynamic = 0;
  handle_place(handle, &bias, &dynamic);
  auto is_handle_module = [&](const Module &m) {
    // The main program's handle never unloads anything.
    return !m.id.listed_name.empty() && m.id.bias == bias && m.id.dynamic == dynamic;
  };
  const Module *own = nullptr;
  for (auto &c : r.closing)
    if (is_handle_module(*c.module)) own = c.module.get();
  for (auto &m : r.modules)
    if (is_handle_module(*m)) own = m.get();
  // No sites there, or another dlopen's to judge. Generation 0 came with
  // the program, which the loader never unloads (if sled started late and
  // it does, the next refresh notices, as after a dlclose from a callback).
  if (!own || own->generation == 0) return taken;
  const uint64_t generation = own->generation;
  auto goes = [&](const Module &m) { return m.generation == generation; };
  // Allocate first: past the first change nothing may throw (core/oom.h).
  taken.reserve(r.closing.size() + r.modules.size());
  r.closing.reserve(r.closing.size() + r.modules.size());
  for (auto &c : r.closing)
    if (goes(*c.module)) {
      c.closers++;  // another dlclose took it out: the last one puts it back
      taken.push_back(c.module.get());
    }
  for (size_t i = 0; i < r.modules.size();) {
    Module &m = *r.modules[i];
    // A module that could not be disabled stays listed: the refresh after
    // the real dlclose forgets it if it went, and batches never write an
    // unloaded module (module_identity.h).
    if (!goes(m) || retire_module(r, m) != 0) {
      i++;
      continue;
    }
    taken.push_back(&m);
    module_index_remove(&m);  // freed, if it goes, after a grace period
    r.closing.push_back(Registry::Closing{std::move(r.modules[i]), 1});
    r.modules.erase(r.modules.begin() + static_cast<long>(i));
  }
  return taken;
}

void put_back_after_dlclose(Registry &r, const std::vector<Module *> &taken) {
  for (Module *m : taken)
    if (Registry::Closing *c = closing_entry(r, m)) c->closers--;
  // Also reads the objects others left alone while these were out.
  refresh_modules(r, true, false);
}

namespace {
__attribute__((constructor)) void sled_on_load() {
  // dlsym takes the loader's lock: never under sled's (dl_hooks.cc).
  try {
    resolve_real_dl_functions();
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
