// dlmopen interposition: a module dlmopen'ed into any namespace joins at
// once, as after dlopen (namespaces.cc lists the other namespaces' objects),
// and the name is resolved for the program's caller first (dl_caller.cc),
// as glibc would without libsled in between.
#include <dlfcn.h>

#include <cstdlib>

#include "core/dl_caller.h"
#include "core/lifecycle.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace {
using DlmopenFn = void *(*)(Lmid_t, const char *, int);

DlmopenFn real_dlmopen() {
  static const DlmopenFn fn = reinterpret_cast<DlmopenFn>(dlsym(RTLD_NEXT, "dlmopen"));
  return fn;
}

}  // namespace

void sled::resolve_real_dlmopen() { real_dlmopen(); }

extern "C" __attribute__((visibility("default"))) void *dlmopen(Lmid_t lmid, const char *file,
                                                                int mode) {
  DlmopenFn dlmopen_fn = real_dlmopen();
  if (!dlmopen_fn) return nullptr;
  char *resolved = sled::dl_file_for_caller(
      file, __builtin_extract_return_addr(__builtin_return_address(0)), lmid);
  void *handle = dlmopen_fn(lmid, resolved ? resolved : file, mode);
  free(resolved);
  // As after dlopen (dl_hooks.cc): the module joins before dlmopen returns.
  if (handle && !sled::in_sled_callback()) {
    sled::RegistryLock lock;
    sled::Registry &r = sled::registry();
    if (r.initialized && r.init_error == 0) sled::refresh_modules(r, false, true);
  }
  return handle;
}
