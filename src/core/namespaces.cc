// See namespaces.h. The walk runs inside a dl_iterate_phdr callback: glibc
// holds its list lock (dl_load_write_lock) across the callbacks, and it
// links and unlinks the link maps of every namespace (and moves r_map)
// under that lock (elf/dl-object.c, elf/dl-close.c), so the lists cannot
// change during the walk. Nothing here takes another loader lock (no
// dlopen, no dlsym): the loader's own lock order stays intact.
#include "core/namespaces.h"

#include <dlfcn.h>

#include <cstring>

namespace sled {
namespace {

struct Walk {
  int (*add)(struct dl_phdr_info *, size_t, void *);
  void *arg;
  const char *own_base;  // basename of libsled's own file
};

const char *base_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// A copy of libsled in the namespace traces it itself: two instances
// writing the same sites would undo each other's writes.
bool has_own_sled(const link_map *head, const Walk &w) {
  for (const link_map *l = head; l; l = l->l_next) {
    if (!l->l_name) continue;
    const char *base = base_of(l->l_name);
    if (strcmp(base, w.own_base) == 0 || strncmp(base, "libsled.so", 10) == 0) return true;
  }
  return false;
}

int walk_namespaces(struct dl_phdr_info *, size_t, void *arg) {
  const Walk &w = *static_cast<const Walk *>(arg);
  // Acquire: pairs with the loader's release store of r_version once a
  // second namespace exists.
  if (__atomic_load_n(&_r_debug.r_version, __ATOMIC_ACQUIRE) < 2) return 1;
  const auto *base = reinterpret_cast<const r_debug_extended *>(&_r_debug);
  // r_next and r_map are stored with release by _dl_debug_initialize, which
  // need not hold the list lock: load them with acquire.
  for (const r_debug_extended *ns = __atomic_load_n(&base->r_next, __ATOMIC_ACQUIRE); ns;
       ns = __atomic_load_n(&ns->r_next, __ATOMIC_ACQUIRE)) {
    const link_map *head = __atomic_load_n(&ns->base.r_map, __ATOMIC_ACQUIRE);
    if (has_own_sled(head, w)) continue;
    for (link_map *l = const_cast<link_map *>(head); l; l = l->l_next) {
      if (!l->l_name || !strchr(l->l_name, '/')) continue;  // no file (or a proxy of ld.so)
      const ElfW(Phdr) *phdr = nullptr;
      int phnum = dlinfo(l, RTLD_DI_PHDR, &phdr);  // glibc 2.36; fails (skipped) before
      if (phnum <= 0 || !phdr) continue;
      struct dl_phdr_info info = {};
      info.dlpi_addr = l->l_addr;
      info.dlpi_name = l->l_name;
      info.dlpi_phdr = phdr;
      info.dlpi_phnum = static_cast<ElfW(Half)>(phnum);
      w.add(&info, sizeof info, w.arg);
    }
  }
  return 1;  // one callback is enough: the lock is what it is for
}

}  // namespace

namespace {
// libsled's own link map and its namespace's basename, found once at
// start-up (namespaces_init): dladdr takes the loader's dl_load_lock, which
// must never be taken under sled's lock (dl_hooks.cc).
struct Own {
  bool base_namespace = false;
  const char *own_base = nullptr;
};
Own g_own;
}  // namespace

void namespaces_init() {
  static bool done = [] {
    Dl_info info;
    link_map *self = nullptr;
    Lmid_t ns = -1;
    if (dladdr1(reinterpret_cast<const void *>(&namespaces_init), &info,
                reinterpret_cast<void **>(&self), RTLD_DL_LINKMAP) &&
        self && self->l_name && dlinfo(self, RTLD_DI_LMID, &ns) == 0 && ns == LM_ID_BASE) {
      g_own.base_namespace = true;
      g_own.own_base = base_of(self->l_name[0] ? self->l_name : info.dli_fname);
    }
    return true;
  }();
  (void)done;
}

void for_each_object_of_other_namespaces(int (*add)(struct dl_phdr_info *, size_t, void *),
                                         void *arg) {
  if (!g_own.base_namespace) return;  // a copy of libsled in another namespace traces its own
  Walk w{add, arg, g_own.own_base};
  dl_iterate_phdr(walk_namespaces, &w);
}

}  // namespace sled
