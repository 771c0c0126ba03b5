// Resolves a dlopen file name for the module that really called dlopen
// (glibc 2.36 elf/dl-open.c, dl-load.c: _dl_map_object, _dl_dst_substitute).
// glibc looks at the caller for two things only:
//  - a name with a '/' and a `$ORIGIN` (or `${ORIGIN}`) gets the caller's
//    directory; `$LIB` and `$PLATFORM` do not depend on the caller and are
//    left for glibc to expand;
//  - a name without '/' that no loaded object answers to (file name or
//    DT_SONAME) is searched for in the caller's DT_RPATH chain (when it has
//    no DT_RUNPATH), the program's DT_RPATH, LD_LIBRARY_PATH and the
//    caller's DT_RUNPATH, then in ld.so.cache and the default directories.
// dlinfo(RTLD_DI_SERINFO) gives each module's list with its DSTs expanded,
// the default directories last. Where the caller's list and libsled's share
// a tail (the default directories at least), glibc searches that tail and
// the cache the same way for both: only the caller's own head is searched
// here, and a name found nowhere in it goes to glibc unchanged.
// Not reproduced (the name then goes to glibc as given, resolved as if
// libsled called): names glibc knows an object by because an earlier dlopen
// used them (they are private), the glibc-hwcaps subdirectories of the
// caller's directories, $ORIGIN in set-user-ID programs (glibc's trusted-
// directory rules), a dlmopen into an existing namespace other than
// libsled's, and libsled's own head (the program's DT_RPATH when the caller
// has a DT_RUNPATH), which glibc then searches before the cache.
#include "core/dl_caller.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/mapped_file.h"

namespace sled {
namespace {

#if defined(__x86_64__)
constexpr unsigned kMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kMachine = EM_AARCH64;
#endif

link_map *map_of(const void *addr) {
  Dl_info info;
  link_map *map = nullptr;
  if (!addr || !dladdr1(addr, &info, reinterpret_cast<void **>(&map), RTLD_DL_LINKMAP))
    return nullptr;
  return map;
}

// glibc's is_dst: length of the token after '$' if it is `ref` or `{ref}`.
size_t dst_length(const char *input, const char *ref) {
  bool curly = input[0] == '{';
  if (curly) input++;
  size_t n = strlen(ref);
  if (strncmp(input, ref, n) != 0) return 0;
  char next = input[n];
  if (curly) return next == '}' ? n + 2 : 0;
  bool ident = (next >= 'A' && next <= 'Z') || (next >= 'a' && next <= 'z') ||
               (next >= '0' && next <= '9') || next == '_';
  return ident ? 0 : n;
}

// The directory glibc gives $ORIGIN for `map` (dl-object.c: the directory
// of its file name, made absolute; the main program's from its file);
// malloc'ed, null when it cannot be told.
char *origin_of(const link_map *map) {
  char *buf = static_cast<char *>(malloc(2 * PATH_MAX));
  if (!buf) return nullptr;
  char *file = buf + PATH_MAX;
  const char *name = map->l_name;
  if (!name || !*name) {
    if (!main_program_path(main_program_phdr(), file, PATH_MAX)) {
      free(buf);
      return nullptr;
    }
    name = file;
  }
  size_t len = 0;
  if (name[0] != '/') {
    if (!getcwd(buf, PATH_MAX) || buf[0] != '/') {
      free(buf);
      return nullptr;
    }
    len = strlen(buf);
    if (buf[len - 1] != '/') buf[len++] = '/';
  }
  size_t n = strlen(name);
  if (len + n >= PATH_MAX) {
    free(buf);
    return nullptr;
  }
  memmove(buf + len, name, n + 1);
  char *slash = strrchr(buf, '/');
  if (slash == buf) slash++;  // "/prog": the origin is "/"
  *slash = '\0';
  return buf;
}

// `file` (which has a '/') with $ORIGIN replaced by the caller's directory;
// malloc'ed, null when nothing is replaced or it cannot be told.
char *expand_origin(const char *file, const link_map *caller) {
  if (getauxval(AT_SECURE)) return nullptr;  // glibc's trusted-directory rules: not reproduced
  size_t tokens = 0;
  for (const char *p = strchr(file, '$'); p; p = strchr(p + 1, '$'))
    if (dst_length(p + 1, "ORIGIN")) tokens++;
  if (tokens == 0) return nullptr;
  char *origin = origin_of(caller);
  // A '$' in the directory would be read as a DST again by glibc.
  if (!origin || strchr(origin, '$')) {
    free(origin);
    return nullptr;
  }
  size_t olen = strlen(origin);
  char *out = static_cast<char *>(malloc(strlen(file) + tokens * olen + 1));
  if (out) {
    char *w = out;
    for (const char *p = file; *p;) {
      size_t n = p[0] == '$' ? dst_length(p + 1, "ORIGIN") : 0;
      if (n == 0) {
        *w++ = *p++;
        continue;
      }
      memcpy(w, origin, olen);
      w += olen;
      p += 1 + n;
    }
    *w = '\0';
  }
  free(origin);
  return out;
}

// dlinfo's search list of a module, malloc'ed; null on failure.
Dl_serinfo *search_list(link_map *map) {
  Dl_serinfo size;
  if (dlinfo(map, RTLD_DI_SERINFOSIZE, &size) != 0) return nullptr;
  auto *list = static_cast<Dl_serinfo *>(malloc(size.dls_size));
  if (!list) return nullptr;
  *list = size;
  if (dlinfo(map, RTLD_DI_SERINFO, list) != 0) {
    free(list);
    return nullptr;
  }
  return list;
}

bool same_dir(const Dl_serinfo *a, unsigned i, const Dl_serinfo *b, unsigned j) {
  return strcmp(a->dls_serpath[i].dls_name, b->dls_serpath[j].dls_name) == 0;
}

// Whether a loaded object of libsled's namespace answers to `name` by its
// file name or DT_SONAME (dl_iterate_phdr holds the loader's list lock).
bool loaded_under_name(const char *name) {
  return dl_iterate_phdr(
             [](struct dl_phdr_info *info, size_t, void *arg) {
               const char *name = static_cast<const char *>(arg);
               if (info->dlpi_name && strcmp(info->dlpi_name, name) == 0) return 1;
               const ElfW(Phdr) *dynamic = nullptr;
               for (int i = 0; i < info->dlpi_phnum; i++)
                 if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dynamic = &info->dlpi_phdr[i];
               if (!dynamic) return 0;
               auto *dyn = reinterpret_cast<const ElfW(Dyn) *>(info->dlpi_addr + dynamic->p_vaddr);
               uintptr_t strtab = 0, soname = 0, strsz = 0;
               bool has_soname = false;
               for (; dyn->d_tag != DT_NULL; dyn++) {
                 if (dyn->d_tag == DT_STRTAB) strtab = dyn->d_un.d_ptr;
                 if (dyn->d_tag == DT_STRSZ) strsz = dyn->d_un.d_val;
                 if (dyn->d_tag == DT_SONAME) {
                   soname = dyn->d_un.d_val;
                   has_soname = true;
                 }
               }
               if (!has_soname || !strtab || soname >= strsz) return 0;
               // glibc relocates the dynamic section in place, except where
               // it is read-only (the vDSO): an address below the load bias
               // is still a link-time one.
               if (strtab < info->dlpi_addr) strtab += info->dlpi_addr;
               // The string table must lie in one of the object's segments.
               bool inside = false;
               for (int i = 0; i < info->dlpi_phnum; i++) {
                 const ElfW(Phdr) &ph = info->dlpi_phdr[i];
                 uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
                 if (ph.p_type == PT_LOAD && strtab >= lo && strtab - lo < ph.p_memsz &&
                     strsz <= ph.p_memsz - (strtab - lo))
                   inside = true;
               }
               if (!inside) return 0;
               const char *s = reinterpret_cast<const char *>(strtab) + soname;
               return strnlen(s, strsz - soname) < strsz - soname && strcmp(s, name) == 0 ? 1 : 0;
             },
             const_cast<char *>(name)) != 0;
}

// glibc's open_verify skips files of the other ELF class or machine and
// keeps searching; anything else it opens (or fails on) ends the search.
bool skipped_by_glibc(int fd) {
  ElfW(Ehdr) ehdr;
  if (pread(fd, &ehdr, sizeof ehdr, 0) != static_cast<ssize_t>(sizeof ehdr)) return false;
  if (memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0) return false;
  return ehdr.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
         ehdr.e_machine != kMachine;
}

// `file` (no '/') searched for in the head of the caller's list that
// libsled's list does not share; malloc'ed path, or null.
char *search_caller_dirs(const char *file, link_map *caller, link_map *self, long lmid) {
  Dl_serinfo *mine = search_list(caller);
  Dl_serinfo *theirs = mine ? search_list(self) : nullptr;
  char *result = nullptr;
  if (mine && theirs) {
    unsigned common = 0;
    while (common < mine->dls_cnt && common < theirs->dls_cnt &&
           same_dir(mine, mine->dls_cnt - 1 - common, theirs, theirs->dls_cnt - 1 - common))
      common++;
    unsigned head = mine->dls_cnt - common;
    // glibc first returns an object already loaded under that name; a new
    // namespace has none, and only libsled's can be listed here.
    if (head > 0 && lmid != LM_ID_NEWLM) {
      Lmid_t caller_ns = LM_ID_BASE, self_ns = LM_ID_BASE;
      if (dlinfo(caller, RTLD_DI_LMID, &caller_ns) != 0 ||
          dlinfo(self, RTLD_DI_LMID, &self_ns) != 0)
        head = 0;
      else if ((lmid == kCallerNamespace ? caller_ns : lmid) != self_ns || loaded_under_name(file))
        head = 0;
    }
    size_t len = strlen(file);
    for (unsigned i = 0; i < head && !result; i++) {
      const char *dir = mine->dls_serpath[i].dls_name;
      size_t dlen = strlen(dir);
      char *path = static_cast<char *>(malloc(dlen + 1 + len + 1));
      if (!path) break;
      memcpy(path, dir, dlen);
      path[dlen] = '/';
      memcpy(path + dlen + 1, file, len + 1);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0 && !skipped_by_glibc(fd)) result = path;
      if (fd >= 0) close(fd);
      if (result != path) free(path);
    }
  }
  free(mine);
  free(theirs);
  return result;
}

}  // namespace

char *dl_file_for_caller(const char *file, const void *caller, long lmid) {
  if (!file || !*file) return nullptr;
  link_map *self = map_of(reinterpret_cast<const void *>(&dl_file_for_caller));
  // glibc takes the main program when the address is in no module.
  link_map *from = map_of(caller);
  if (!from) from = _r_debug.r_map;
  if (!self || !from || from == self) return nullptr;
  if (strchr(file, '/')) return strchr(file, '$') ? expand_origin(file, from) : nullptr;
  return search_caller_dirs(file, from, self, lmid);
}

}  // namespace sled
