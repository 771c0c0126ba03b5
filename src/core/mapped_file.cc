// /proc/self/maps lookups: which file a mapping holds and whether the main
// program came through an explicit loader invocation. Reads /proc only;
// never writes, never opens the mapped files.
#include "core/mapped_file.h"

#include <fcntl.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sled {

bool find_mapping(uintptr_t addr, Mapping *out) {
  constexpr size_t kLine = PATH_MAX + 256;
  char *line = static_cast<char *>(malloc(kLine));  // off the stack: callers' stacks may be small
  FILE *f = line ? fopen("/proc/self/maps", "re") : nullptr;
  if (!f) {
    free(line);
    return false;
  }
  bool found = false;
  while (!found && fgets(line, kLine, f)) {
    size_t len = strlen(line);
    bool whole = len > 0 && line[len - 1] == '\n';
    if (whole) line[--len] = '\0';
    uintptr_t lo = 0, hi = 0;
    unsigned maj = 0, min = 0;
    unsigned long long inode = 0;
    int path_at = 0;
    // lo-hi perms offset dev inode [path]
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %x:%x %llu %n", &lo, &hi, &maj, &min,
               &inode, &path_at) >= 5 &&
        addr >= lo && addr < hi) {
      found = true;
      out->lo = lo;
      out->hi = hi;
      out->dev_major = maj;
      out->dev_minor = min;
      out->inode = inode;
      out->deleted = false;
      out->path[0] = '\0';
      if (path_at > 0 && whole) {
        const char *p = line + path_at;
        size_t n = strlen(p);
        static const char kDeleted[] = " (deleted)";
        if (n >= sizeof kDeleted - 1 && strcmp(p + n - (sizeof kDeleted - 1), kDeleted) == 0) {
          out->deleted = true;
          n -= sizeof kDeleted - 1;
        }
        if (n < sizeof out->path) {
          memcpy(out->path, p, n);
          out->path[n] = '\0';
        }
      }
    }
    // The rest of a line longer than the buffer: skip it.
    while (!whole && fgets(line, kLine, f)) {
      len = strlen(line);
      whole = len > 0 && line[len - 1] == '\n';
    }
  }
  fclose(f);
  free(line);
  return found;
}

bool same_file(int fd, const Mapping &m) {
  struct stat st;
  if (fstat(fd, &st) != 0) return false;
  return major(st.st_dev) == m.dev_major && minor(st.st_dev) == m.dev_minor &&
         static_cast<unsigned long long>(st.st_ino) == m.inode;
}

bool started_through_loader(const void *main_phdr) {
  // The kernel loaded an interpreter: the program is the file it ran.
  if (getauxval(AT_BASE) != 0 || !main_phdr) return false;
  // No interpreter: ld.so run as a command, or a static program. ld.so
  // rewrites AT_PHDR and AT_EXECFN for the program it loads, so compare
  // files: /proc/self/exe against the mapping of the program's headers.
  Mapping m;
  if (!find_mapping(reinterpret_cast<uintptr_t>(main_phdr), &m) || m.inode == 0) return false;
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  bool same = same_file(fd, m);
  close(fd);
  return !same;
}

bool main_program_path(const void *main_phdr, char *buf, size_t size) {
  if (size == 0) return false;
  if (started_through_loader(main_phdr)) {
    Mapping m;
    if (!find_mapping(reinterpret_cast<uintptr_t>(main_phdr), &m) || m.path[0] != '/') return false;
    size_t n = strlen(m.path);
    if (n >= size) return false;
    memcpy(buf, m.path, n + 1);
    return true;
  }
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

const void *main_program_phdr() {
  const void *phdr = nullptr;
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *arg) {
        *static_cast<const void **>(arg) = info->dlpi_phdr;
        return 1;  // the first object is the main program
      },
      &phdr);
  return phdr;
}

}  // namespace sled
