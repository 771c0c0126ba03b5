// alloc_fail.cc — see alloc_fail.h. The replacements call glibc's own
// entry points (__libc_malloc & co.); the state is thread-local with an
// initial value, so reading it never allocates.
#include "alloc_fail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
}

namespace {
thread_local long t_countdown = 0;  // > 0: armed; reaching 0 fails that allocation
thread_local bool t_armed = false;
thread_local bool t_fired = false;
thread_local long t_count = 0;

bool fail_now() {
  if (!t_armed) return false;
  t_count++;
  if (t_countdown > 0 && --t_countdown == 0) {
    t_fired = true;
    errno = ENOMEM;
    return true;
  }
  return false;
}
}  // namespace

namespace alloc_fail {
void arm(long n) {
  t_countdown = n;
  t_fired = false;
  t_count = 0;
  t_armed = true;
}
bool disarm() {
  t_armed = false;
  t_countdown = 0;
  return t_fired;
}
long armed_count() { return t_count; }
}  // namespace alloc_fail

extern "C" {
void *malloc(size_t n) { return fail_now() ? nullptr : __libc_malloc(n); }
void *calloc(size_t n, size_t size) { return fail_now() ? nullptr : __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { return fail_now() ? nullptr : __libc_realloc(p, n); }
void *memalign(size_t align, size_t n) { return fail_now() ? nullptr : __libc_memalign(align, n); }
void *aligned_alloc(size_t align, size_t n) {
  return fail_now() ? nullptr : __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  if (fail_now()) return ENOMEM;
  void *p = __libc_memalign(align, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}
