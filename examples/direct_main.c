/* direct_main.c — sled-example-direct: a direct call (sled_ops_set_direct).
 * The counting trampoline of direct_tramp_<arch>.S, copied into a page of
 * its own, is called by hash_mix's site itself; then an ordinary ops joins
 * the site (sled's trampoline runs its callback, then continues into the
 * direct one) and leaves again; then the direct ops is unregistered and its
 * page unmapped. Prints the counts. */
#include <sled/sled.h>
#include <stdio.h>

#include "direct_tramp.h"
#include "workload.h"

static uint64_t g_callbacks;

static void count_cb(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs) {
  (void)ip, (void)parent_ip, (void)ops, (void)regs;
  __atomic_fetch_add(&g_callbacks, 1, __ATOMIC_RELAXED);
}

static int check(const char *what, int rc) {
  if (rc < 0) fprintf(stderr, "%s: %s (%s)\n", what, sled_strerror(rc), sled_last_error());
  return rc < 0;
}

int main(void) {
  static uint64_t direct_calls;
  size_t size = 0;
  void *tramp = sled_example_direct_make(&direct_calls, &size);
  if (!tramp) return perror("sled_example_direct_make"), 1;

  sled_ops direct = {0};
  sled_ops other = {0};
  other.func = count_cb;
  if (check("sled_ops_set_direct", sled_ops_set_direct(&direct, tramp, size)) ||
      check("sled_set_filter", sled_set_filter(&direct, "hash_mix", 1)) ||
      check("sled_register_ops", sled_register_ops(&direct)))
    return 1;
  uint64_t h = 1;
  for (int i = 0; i < 1000; i++) h = hash_mix(h);
  printf("alone:  direct trampoline %llu calls\n", (unsigned long long)direct_calls);

  if (check("sled_set_filter", sled_set_filter(&other, "hash_mix", 1)) ||
      check("sled_register_ops", sled_register_ops(&other)))
    return 1;
  for (int i = 0; i < 1000; i++) h = hash_mix(h);
  printf("shared: direct trampoline %llu calls, callback %llu calls\n",
         (unsigned long long)direct_calls, (unsigned long long)g_callbacks);
  if (check("sled_unregister_ops", sled_unregister_ops(&other))) return 1;

  if (check("sled_unregister_ops", sled_unregister_ops(&direct))) return 1;
  for (int i = 0; i < 1000; i++) h = hash_mix(h);
  printf("after:  direct trampoline %llu calls (%llx)\n", (unsigned long long)direct_calls,
         (unsigned long long)h);
  /* No thread runs the trampoline any more: its page may go. */
  return sled_example_direct_free(tramp) != 0;
}
