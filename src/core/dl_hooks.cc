// dlopen/dlclose interposition, as uftrace's libmcount does: a module loaded
// later joins at once (its sites get every registered ops' filter before
// dlopen returns), and a module's sites leave sled's tables while the lock
// is held across the real dlclose, so no batch can write to unmapped text.
#include <dlfcn.h>

#include <cstdlib>

#include "core/dl_caller.h"
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
  resolve_real_dlmopen();
}

extern "C" __attribute__((visibility("default"))) void *dlopen(const char *file, int mode) {
  DlopenFn dlopen_fn = real_dlopen();
  if (!dlopen_fn) return nullptr;
  // glibc resolves $ORIGIN and RUNPATH against its caller: name the file
  // the program's caller would have got (dl_caller.cc).
  char *resolved = sled::dl_file_for_caller(
      file, __builtin_extract_return_addr(__builtin_return_address(0)), sled::kCallerNamespace);
  void *handle = dlopen_fn(resolved ? resolved : file, mode);
  free(resolved);
  // From inside a callback the lock could deadlock with a grace period
  // waiting for this thread; the next sled call picks the module up.
  if (handle && !sled::in_sled_callback()) {
    sled::RegistryLock lock;
    sled::Registry &r = sled::registry();
    if (r.initialized && r.init_error == 0) sled::refresh_modules(r, false, true);
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
  if (r.initialized && r.init_error == 0) sled::refresh_modules(r, false, false);
  return rc;
}
