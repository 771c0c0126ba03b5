// dlopen/dlmopen/dlclose interposition, as uftrace's libmcount does: a module loaded
// later joins at once (its sites get every registered ops' filter before
// dlopen returns), and a module's sites leave sled's tables before the real
// dlclose may unmap it.
//
// Lock order: the loader's lock (dl_load_lock) comes before sled's. The
// loader holds its lock while constructors and destructors run, and those
// may call dlopen or sled; so sled's lock is never held across a real
// dlopen or dlclose (nor any loader call that takes dl_load_lock: dlsym,
// dladdr, dlinfo). dl_iterate_phdr takes only dl_load_write_lock, which no
// constructor or destructor runs under.
//
// dlclose: under sled's lock, the modules the handle may unload are taken
// out (sites disabled by a normal batch and a grace period, out of every
// table: no batch can write them); then the lock is released and the real
// dlclose runs; then, under the lock again, the modules that survived
// (another handle holds them) come back with every filter applied again.
//
// From inside a callback neither wrapper may take the lock (a writer may be
// waiting under it for this thread's grace period): the real call runs
// alone, and the next refresh notices what changed. Batches never write a
// module that may be unmapped meanwhile (module_identity.h).
#include <dlfcn.h>

#include <cstdlib>
#include <exception>

#include "core/dl_caller.h"
#include "core/dl_inflight.h"
#include "core/lifecycle.h"
#include "core/namespaces.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace {
using DlopenFn = void *(*)(const char *, int);
using DlmopenFn = void *(*)(Lmid_t, const char *, int);
using DlcloseFn = int (*)(void *);

template <class Fn>
Fn real(const char *name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}
DlopenFn real_dlopen() {
  static const DlopenFn fn = real<DlopenFn>("dlopen");
  return fn;
}
DlmopenFn real_dlmopen() {
  static const DlmopenFn fn = real<DlmopenFn>("dlmopen");
  return fn;
}
DlcloseFn real_dlclose() {
  static const DlcloseFn fn = real<DlcloseFn>("dlclose");
  return fn;
}

bool sled_running(const sled::Registry &r) { return r.initialized && r.init_error == 0; }

// dlclose calls in progress on this thread (a destructor may call dlclose).
thread_local int t_dlclose_depth = 0;

// A dlopen or dlclose called from a constructor or destructor (this thread
// holds the loader's lock): taking modules out or attaching new ones may
// run a grace period, which would wait for a callback that may itself wait
// for the loader's lock (dladdr). The outer call does the work. `opens`
// and `closes`: the calls of each kind this one counts as.
bool nested_in_loader(int opens, int closes) {
  return sled::dlopen_depth_on_this_thread() > opens || t_dlclose_depth > closes;
}

// dlopen and dlmopen: `open(name)` calls the real one. glibc resolves
// $ORIGIN and RUNPATH against its caller: the name passed is the file the
// program's caller (`caller`, in namespace `lmid`) would have got
// (dl_caller.cc), computed before any lock (it asks the loader: dladdr,
// dlinfo). Then this thread judges what its call loaded (dl_inflight.h);
// from inside a callback or a constructor, a later refresh picks it up.
template <class Open>
void *open_and_join(const char *file, void *caller, long lmid, Open open) {
  char *resolved = sled::dl_file_for_caller(file, caller, lmid);
  sled::dlopen_begin();
  void *handle = open(resolved ? resolved : file);
  free(resolved);
  // A failed call loaded nothing (and the refresh would clear the error
  // the program is about to read with dlerror).
  if (handle && !sled::in_sled_callback() && !nested_in_loader(1, 0)) {
    try {
      sled::RegistryLock lock;
      sled::Registry &r = sled::registry();
      if (sled_running(r)) sled::refresh_modules(r, false, true);
    } catch (const std::exception &) {
      // Out of memory (core/oom.h): the library is loaded all the same; it
      // joins at the next sled call that has the memory to read it.
    }
  }
  sled::dlopen_end();
  return handle;
}
}  // namespace

void sled::resolve_real_dl_functions() {
  sled::namespaces_init();
  real_dlopen();
  real_dlmopen();
  real_dlclose();
}

extern "C" __attribute__((visibility("default"))) void *dlopen(const char *file, int mode) {
  DlopenFn dlopen_fn = real_dlopen();
  if (!dlopen_fn) return nullptr;
  return open_and_join(file, __builtin_extract_return_addr(__builtin_return_address(0)),
                       sled::kCallerNamespace,
                       [&](const char *name) { return dlopen_fn(name, mode); });
}

extern "C" __attribute__((visibility("default"))) void *dlmopen(Lmid_t lmid, const char *file,
                                                                int mode) {
  DlmopenFn dlmopen_fn = real_dlmopen();
  if (!dlmopen_fn) return nullptr;
  return open_and_join(file, __builtin_extract_return_addr(__builtin_return_address(0)), lmid,
                       [&](const char *name) { return dlmopen_fn(lmid, name, mode); });
}

extern "C" __attribute__((visibility("default"))) int dlclose(void *handle) {
  DlcloseFn dlclose_fn = real_dlclose();
  if (!dlclose_fn) return -1;
  if (sled::in_sled_callback()) return dlclose_fn(handle);
  t_dlclose_depth++;
  std::vector<sled::Module *> taken;
  bool outer = !nested_in_loader(0, 1);
  if (outer) {
    sled::RegistryLock lock;
    sled::Registry &r = sled::registry();
    try {
      if (sled_running(r)) taken = sled::take_out_for_dlclose(r, handle);
    } catch (const std::exception &) {
      // Out of memory: nothing taken out. Batches still never write a
      // module that went away (module_identity.h).
      taken.clear();
    }
  }
  int rc = dlclose_fn(handle);
  if (outer) {
    sled::RegistryLock lock;
    sled::Registry &r = sled::registry();
    if (sled_running(r)) {
      try {
        sled::put_back_after_dlclose(r, taken);
      } catch (const std::exception &) {
        // Out of memory (core/oom.h): still drop what is no longer mapped,
        // without allocating; what survived joins at the next refresh.
        sled::forget_unloaded_modules(r);
      }
    }
  }
  t_dlclose_depth--;
  return rc;
}
