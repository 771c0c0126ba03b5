// dlmopen interposition. sled traces the link-map namespace libsled lives
// in (dl_iterate_phdr lists only that one): a module dlmopen'ed into it
// joins at once as after dlopen; a module loaded into another namespace is
// not traced, and the calling thread's sled_last_error says so. Either way
// the name is resolved for the program's caller first (dl_caller.cc), as
// glibc would without libsled in between.
#include <dlfcn.h>

#include <cstdlib>

#include "core/dl_caller.h"
#include "core/error.h"
#include "core/lifecycle.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace {
using DlmopenFn = void *(*)(Lmid_t, const char *, int);

DlmopenFn real_dlmopen() {
  static const DlmopenFn fn = reinterpret_cast<DlmopenFn>(dlsym(RTLD_NEXT, "dlmopen"));
  return fn;
}

Lmid_t own_namespace() {
  Dl_info info;
  void *self = nullptr;
  Lmid_t ns = LM_ID_BASE;
  if (dladdr1(reinterpret_cast<const void *>(&own_namespace), &info, &self, RTLD_DL_LINKMAP) &&
      self)
    dlinfo(self, RTLD_DI_LMID, &ns);
  return ns;
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
  if (!handle) return nullptr;
  Lmid_t ns = LM_ID_BASE;
  if (dlinfo(handle, RTLD_DI_LMID, &ns) != 0 || ns != own_namespace()) {
    sled::set_last_error("dlmopen: %s is in link-map namespace %ld, which sled does not trace",
                         file ? file : "(null)", static_cast<long>(ns));
    return handle;
  }
  // As after dlopen (dl_hooks.cc): the module joins before dlmopen returns.
  if (!sled::in_sled_callback()) {
    sled::RegistryLock lock;
    sled::Registry &r = sled::registry();
    if (r.initialized && r.init_error == 0) sled::refresh_modules(r, false, true);
  }
  return handle;
}
