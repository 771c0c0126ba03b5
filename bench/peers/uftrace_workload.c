/* uftrace_workload.c — the program bench/peers/run.sh runs with and without
 * `uftrace record`: N chained calls of the uninstrumented tiny function,
 * then N of uftrace_tiny (built -pg or with patchable entries), and prints
 * "<plain ns/call> <traced ns/call>", in thread CPU time like every loop of
 * sled-bench-peers (uftrace's own process is not counted; time spent
 * descheduled on a loaded machine is not either). main itself is not
 * instrumented.
 *
 *   sled-peers-uftrace-{pg,pfe} [N]      (default N = 1,000,000) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tiny_fn.h"

int uftrace_tiny(int x);

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double ns_per_call(int (*fn)(int), long n) {
  int x = 0;
  double t0 = now_ns();
  for (long i = 0; i < n; i++) x = fn(x);
  double t1 = now_ns();
  __asm__ volatile("" : : "r"(x));
  return (t1 - t0) / (double)n;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  if (n <= 0) return 2;
  double plain = ns_per_call(dispatch_tiny_plain, n);
  double traced = ns_per_call(uftrace_tiny, n);
  printf("%.3f %.3f\n", plain, traced);
  return 0;
}
