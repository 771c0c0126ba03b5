/* wx_test.c — issue 8 item 23: under a W^X policy (wx_policy.h) a program
 * that uses sled keeps running, untraced, and sled says why. One source,
 * three programs (WX_MODE):
 *   1 dlopen: the policy is in force before libsled is loaded (dlopen'ed
 *     by main, so its constructor scans this PIE program, terabytes away:
 *     sites that need a near stub page);
 *   2 static: libsled.a linked in, the policy installed by a constructor
 *     that runs before sled's (a higher priority in the same object);
 *   3 after: libsled.so linked, an ops traces functions, then the policy
 *     comes in: later changes are refused, the one in place keeps working.
 * In each: register returns a negative code, sled_last_error names the
 * refused mprotect and the policy, and the instrumented functions (GCC's
 * 1-byte NOPs among them: memfix_gcc.c) still compute the right results.
 * Exit status 0: all well; otherwise the number of the failed check. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sled/sled.h"
#include "wx_policy.h"

int memfix_add(int a, int b);
int memfix_sum(int n);
int wx_twice(int x);

static unsigned long g_calls;
static void count(uintptr_t ip, uintptr_t parent, sled_ops *ops, sled_regs *regs) { g_calls++; }

#define CHECK(n, cond)                                                             \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "wx_test: check %d failed: %s (last error: %s)\n", n, #cond, \
              api.last_error ? api.last_error() : "?");                            \
      return n;                                                                    \
    }                                                                              \
  } while (0)

struct api {
  int (*register_ops)(sled_ops *);
  int (*unregister_ops)(sled_ops *);
  int (*set_filter)(sled_ops *, const char *, int);
  int (*get_stats)(sled_stats *);
  const char *(*last_error)(void);
};

/* The refusal names the call and the policy. */
static int names_policy(const char *text) {
  return text && strstr(text, "mprotect") && strstr(text, "PROT_WRITE|PROT_EXEC") &&
         strstr(text, "W^X");
}

#if WX_MODE == 2
__attribute__((constructor(101))) static void policy_first(void) {
  if (wx_policy_install() != 0) {
    perror("wx_test: seccomp");
    exit(90);
  }
}
#endif

int main(void) {
  struct api api = {0};
#if WX_MODE == 1
  if (wx_policy_install() != 0) return perror("wx_test: seccomp"), 90;
  void *lib = dlopen(SLED_LIBRARY, RTLD_NOW | RTLD_GLOBAL);
  CHECK(1, lib != NULL);
  api.register_ops = (int (*)(sled_ops *))dlsym(lib, "sled_register_ops");
  api.unregister_ops = (int (*)(sled_ops *))dlsym(lib, "sled_unregister_ops");
  api.set_filter = (int (*)(sled_ops *, const char *, int))dlsym(lib, "sled_set_filter");
  api.get_stats = (int (*)(sled_stats *))dlsym(lib, "sled_get_stats");
  api.last_error = (const char *(*)(void))dlsym(lib, "sled_last_error");
  CHECK(2, api.register_ops && api.unregister_ops && api.set_filter && api.get_stats);
#else
  api.register_ops = sled_register_ops;
  api.unregister_ops = sled_unregister_ops;
  api.set_filter = sled_set_filter;
  api.get_stats = sled_get_stats;
  api.last_error = sled_last_error;
#endif
  CHECK(3, memfix_sum(4) == 12 && wx_twice(3) == 6);
  sled_ops traced = {0};
  traced.func = count;
#if WX_MODE == 3
  /* Before the policy: tracing works. */
  CHECK(10, api.set_filter(&traced, "memfix_add", 1) == 0);
  CHECK(11, api.register_ops(&traced) == 0);
  g_calls = 0;
  CHECK(12, memfix_sum(4) == 12 && g_calls == 4);
  if (wx_policy_install() != 0) return perror("wx_test: seccomp"), 90;
  /* A change of the traced set needs writable text: refused, nothing changed. */
  CHECK(13, api.set_filter(&traced, "memfix_add memfix_sum", 1) == -EACCES);
  CHECK(14, names_policy(api.last_error()));
  g_calls = 0;
  CHECK(15, memfix_sum(4) == 12 && g_calls == 4);
  /* A library loaded now joins without being patched, and runs. */
  void *dl = dlopen(MEMFIX_DL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  CHECK(16, dl != NULL);
  int (*dl_sum)(int) = (int (*)(int))dlsym(dl, "memfix_sum");
  CHECK(17, dl_sum && dl_sum(4) == 12);
#endif
  sled_ops other = {0};
  other.func = count;
  g_calls = 0;
  int rc = api.register_ops(&other); /* every site */
  CHECK(20, rc == -EACCES);
  CHECK(21, names_policy(api.last_error()));
  CHECK(22, memfix_sum(4) == 12 && wx_twice(3) == 6);
#if WX_MODE == 3
  CHECK(23, g_calls == 4); /* only the first ops, as before */
  CHECK(24, dl_sum(4) == 12);
  /* A generated trampoline needs a writable+executable stub page: refused
   * for that reason (not "no memory"), and nothing changed. */
  CHECK(30, sled_set_strategy("dyntramp") == -EACCES);
  CHECK(31, names_policy(api.last_error()));
  CHECK(32, strcmp(sled_get_strategy(), "callops") == 0);
  g_calls = 0;
  CHECK(33, memfix_sum(4) == 12 && g_calls == 4);
  /* Removing the calls needs writable text too: refused, still traced. */
  CHECK(25, api.unregister_ops(&traced) == -EACCES);
  g_calls = 0;
  CHECK(26, memfix_sum(4) == 12 && g_calls == 4);
#else
  CHECK(23, g_calls == 0);
  /* GCC sites could not be rewritten: refused, and for that reason. */
  sled_stats st;
  CHECK(27, api.get_stats(&st) == 0);
  CHECK(28, st.refused_by_reason[SLED_SITE_TEXT_LOCKED] > 0);
  CHECK(29, st.refused_by_reason[SLED_SITE_UNSAFE_NOPS] == 0);
  CHECK(30, st.sites_enabled == 0);
#endif
  printf("wx_test: ok\n");
  return 0;
}
