// Which file is really mapped: /proc/self/maps names the device, inode and
// path of every file mapping, which stays true when the path on disk was
// replaced (a package upgrade renames a new file over it) and when the
// program was started through the dynamic loader (`ld.so ./prog`, where
// /proc/self/exe names ld.so). Reads /proc only; allocates nothing; never
// opens the mapped files themselves (module_scan.cc decides what to read).
#pragma once
#include <sys/types.h>

#include <climits>
#include <cstddef>
#include <cstdint>

namespace sled {

struct Mapping {
  uintptr_t lo = 0, hi = 0;  // the mapping holding the address
  unsigned dev_major = 0, dev_minor = 0;
  unsigned long long inode = 0;  // 0: anonymous
  bool deleted = false;          // the path no longer names this inode
  char path[PATH_MAX] = {};      // as /proc/self/maps prints it, without " (deleted)"
};

// The mapping that contains addr; false if none or /proc is unreadable.
bool find_mapping(uintptr_t addr, Mapping *out);

// True when the file open on fd is the mapping's file (same device and inode).
bool same_file(int fd, const Mapping &m);

// Whether the program was started by running the dynamic loader
// explicitly (`ld.so ./prog`): the kernel then ran ld.so as the program
// (AT_BASE is 0) and /proc/self/exe names ld.so, not the file that holds
// the main program's headers (`main_phdr`, dl_iterate_phdr's first object).
bool started_through_loader(const void *main_phdr);

// The main program's file name, written to buf: what /proc/self/exe links
// to, or under started_through_loader the path of the mapping that holds
// the program's headers. False when it cannot be told.
bool main_program_path(const void *main_phdr, char *buf, size_t size);

// The headers of the main program (dl_iterate_phdr's first object).
const void *main_program_phdr();

}  // namespace sled
