// dlopen/dlclose interposition, as uftrace's libmcount does: a module loaded
// later joins at once (its sites get every registered ops' filter before
// dlopen returns), and a module's sites leave sled's tables while the lock
// is held across the real dlclose, so no batch can write to unmapped text.
#include <dlfcn.h>

#include <exception>

#include "core/lifecycle.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace {
using DlopenFn = void *(*)(const char *, int);
using DlcloseFn = int (*)(void *);

template <class Fn>
Fn real(const char *name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}
DlopenFn real_dlopen() {
  static const DlopenFn fn = real<DlopenFn>("dlopen");
  return fn;
}
DlcloseFn real_dlclose() {
  static const DlcloseFn fn = real<DlcloseFn>("dlclose");
  return fn;
}
}  // namespace

void sled::resolve_real_dl_functions() {
  real_dlopen();
  real_dlclose();
}

extern "C" __attribute__((visibility("default"))) void *dlopen(const char *file, int mode) {
  DlopenFn dlopen_fn = real_dlopen();
  if (!dlopen_fn) return nullptr;
  void *handle = dlopen_fn(file, mode);
  // From inside a callback the lock could deadlock with a grace period
  // waiting for this thread; the next sled call picks the module up.
  if (handle && !sled::in_sled_callback()) {
    try {
      sled::RegistryLock lock;
      sled::Registry &r = sled::registry();
      if (r.initialized && r.init_error == 0) sled::refresh_modules(r, false, true);
    } catch (const std::exception &) {
      // Out of memory (core/oom.h): the library is loaded all the same; it
      // joins at the next sled call that has the memory to read it.
    }
  }
  return handle;
}

extern "C" __attribute__((visibility("default"))) int dlclose(void *handle) {
  DlcloseFn dlclose_fn = real_dlclose();
  if (!dlclose_fn) return -1;
  if (sled::in_sled_callback()) return dlclose_fn(handle);  // see dlopen
  sled::RegistryLock lock;
  int rc = dlclose_fn(handle);
  sled::Registry &r = sled::registry();
  if (r.initialized && r.init_error == 0) {
    try {
      sled::refresh_modules(r, false, false);
    } catch (const std::exception &) {
      // Out of memory (core/oom.h): still drop what is no longer mapped,
      // without allocating, so no batch ever writes to unmapped text.
      sled::forget_unloaded_modules(r);
    }
  }
  return rc;
}
