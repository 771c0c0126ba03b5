/* cli_prog.c — the program of the sled command's golden tests: a fixed
 * sequence of calls (nesting, a leaf called several times, recursion that
 * is not a tail call, arguments and a return value to capture), and an
 * exit status chosen by the first argument. A second argument N adds N
 * calls of leaf (a big trace, for the progress bar's test). With a third,
 * it waits for that file to exist before it exits (a live process for
 * `sled sites PID`). Instrumented, not linked with sled. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int leaf(int x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}
NOINLINE int middle(int x) { return leaf(x) * 2 + leaf(x + 1); }
NOINLINE int depth(int n) {
  if (n == 0) return 0;
  int r = depth(n - 1);
  __asm__ volatile("" : "+r"(r)::"memory");
  return r + 1;
}
NOINLINE long add3(long a, long b, long c) { return a + b + c; }

int main(int argc, char **argv) {
  int status = argc > 1 ? atoi(argv[1]) : 0;
  int m = middle(3);
  int d = depth(3);
  long s = add3(1, 2, 39);
  for (int i = 0, n = argc > 2 ? atoi(argv[2]) : 0; i < n; i++) leaf(i);
  printf("middle=%d depth=%d add3=%ld\n", m, d, s);
  fflush(stdout);
  for (int i = 0; argc > 3 && access(argv[3], F_OK) != 0 && i < 3000; i++) usleep(10000);
  return status;
}
