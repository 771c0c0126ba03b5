/* demo.c — sled-demo, the program of the README's quick start: plain C,
 * built with sled's patch-site flags (sled_instrument), not linked with
 * sled. `sled record -- ./sled-demo` traces it through the preload agent.
 * It parses a few numbers, sums them, and computes a small Fibonacci
 * number recursively; every function is a real call. */
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int parse_digit(char c) { return c >= '0' && c <= '9' ? c - '0' : -1; }

NOINLINE int parse_number(const char *s, int *used) {
  int v = 0, n = 0, d;
  while ((d = parse_digit(s[n])) >= 0) {
    v = v * 10 + d;
    n++;
  }
  *used = n;
  return v;
}

NOINLINE int sum_list(const char *text) {
  int sum = 0, used = 0;
  for (const char *p = text; *p; p += used ? used : 1) {
    sum += parse_number(p, &used);
  }
  return sum;
}

NOINLINE long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 5;
  int sum = sum_list("12,7,300");
  long f = fib(n);
  printf("sum=%d fib(%d)=%ld\n", sum, n, f);
  return 0;
}
