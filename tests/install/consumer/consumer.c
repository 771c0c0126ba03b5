/* A minimal program of a user of an installed sled: two instrumented
 * functions, one ops whose filter selects one of them, a call count and an
 * argument sum checked before and after unregistering. Exits 0 when sled
 * traced exactly what it should, 1 otherwise (with the reason on stderr).
 * Built by tests/install with find_package(sled) and with pkg-config. */
#include <sled/sled.h>
#include <stdint.h>
#include <stdio.h>

static unsigned long hits;   /* calls of consumer_add seen by the callback */
static unsigned long others; /* calls of anything else: must stay 0 */
static uintptr_t arg_sum;    /* sum of consumer_add's first argument */

__attribute__((noinline)) int consumer_add(int a, int b) {
  __asm__ volatile("" ::: "memory");
  return a + b;
}

__attribute__((noinline)) int consumer_twice(int a) {
  __asm__ volatile("" ::: "memory");
  return a * 2;
}

/* Called through volatile pointers so the compiler cannot inline or fold
 * the calls away. */
static int (*volatile add_fn)(int, int) = consumer_add;
static int (*volatile twice_fn)(int) = consumer_twice;

SLED_NOTRACE static void on_entry(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops,
                                  sled_regs *regs) {
  (void)parent_ip;
  (void)ops;
  if (ip == (uintptr_t)&consumer_add) {
    __atomic_add_fetch(&hits, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&arg_sum, sled_regs_arg(regs, 0), __ATOMIC_RELAXED);
  } else {
    __atomic_add_fetch(&others, 1, __ATOMIC_RELAXED);
  }
}

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "consumer: FAIL %s: ", #cond);       \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, " (sled: %s)\n", sled_last_error()); \
      return 1;                                            \
    }                                                      \
  } while (0)

int main(void) {
  static sled_ops ops; /* zero-initialised */
  int rc;
  int i;
  int total = 0;

  CHECK(sled_site_count() >= 2, "sled found %zu sites", sled_site_count());

  ops.func = on_entry;
  rc = sled_set_filter(&ops, "consumer_add", 1);
  CHECK(rc == 0, "sled_set_filter: %d %s", rc, sled_strerror(rc));
  rc = sled_register_ops(&ops);
  CHECK(rc == 0, "sled_register_ops: %d %s", rc, sled_strerror(rc));

  for (i = 1; i <= 10; i++) total += add_fn(i, 1) + twice_fn(i);

  rc = sled_unregister_ops(&ops);
  CHECK(rc == 0, "sled_unregister_ops: %d %s", rc, sled_strerror(rc));
  CHECK(total == 55 + 10 + 110, "wrong results: %d", total);
  CHECK(hits == 10, "callback saw %lu calls of consumer_add, expected 10", hits);
  CHECK(arg_sum == 55, "argument sum %lu, expected 55", (unsigned long)arg_sum);
  CHECK(others == 0, "callback saw %lu calls of other functions", others);

  /* Unregistered: the calls run untraced. */
  for (i = 0; i < 5; i++) total += add_fn(i, i);
  CHECK(hits == 10, "callback ran after unregister (%lu calls)", hits);

  printf("consumer: OK (%zu sites, %lu traced calls)\n", sled_site_count(), hits);
  return 0;
}
