// dlopen/dlclose interposition, as uftrace's libmcount does: a module loaded
// later joins at once (its sites get every registered ops' filter before
// dlopen returns), and a module's sites leave sled's tables while the lock
// is held across the real dlclose, so no batch can write to unmapped text.
#include <dlfcn.h>

#include "core/lifecycle.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace {
template <class Fn>
Fn real(const char *name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}
}  // namespace

extern "C" __attribute__((visibility("default"))) void *dlopen(const char *file, int mode) {
  static auto real_dlopen = real<void *(*)(const char *, int)>("dlopen");
  if (!real_dlopen) return nullptr;
  void *handle = real_dlopen(file, mode);
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
  static auto real_dlclose = real<int (*)(void *)>("dlclose");
  if (!real_dlclose) return -1;
  if (sled::in_sled_callback()) return real_dlclose(handle);  // see dlopen
  sled::RegistryLock lock;
  int rc = real_dlclose(handle);
  sled::Registry &r = sled::registry();
  if (r.initialized && r.init_error == 0) sled::refresh_modules(r, false, false);
  return rc;
}
