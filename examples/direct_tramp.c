/* direct_tramp.c — copies the example counting trampoline into a page of
 * its own (so that a test, or a tool, can unmap it after unregistering).
 * The copy is made while the page is read+write and becomes read+execute
 * before anyone calls it: no writable and executable mapping ever. */
#include "direct_tramp.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern const uint64_t sled_example_direct_slot_offset;

void *sled_example_direct_make(uint64_t *counter, size_t *size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t len = (size_t)(sled_example_direct_tramp_end - (const char *)sled_example_direct_tramp);
  void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  memcpy(p, (const void *)sled_example_direct_tramp, len);
  memcpy((char *)p + sled_example_direct_slot_offset, &counter, sizeof counter);
  __builtin___clear_cache((char *)p, (char *)p + len);
  if (mprotect(p, page, PROT_READ | PROT_EXEC) != 0) {
    munmap(p, page);
    return NULL;
  }
  *size = len;
  return p;
}

int sled_example_direct_free(void *tramp) { return munmap(tramp, (size_t)sysconf(_SC_PAGESIZE)); }
