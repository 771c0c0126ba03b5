/* memfix_lib.c — a small instrumented library for the memory/ELF tests: a
 * few traceable functions, and a read-only array of all-ones words that a
 * corrupt section header can point __patchable_function_entries at (each
 * word then reads as a site at address 2^64-1). */
#include <stdint.h>

const uint64_t memfix_ones[4] = {~0ull, ~0ull, ~0ull, ~0ull};

__attribute__((noinline)) int memfix_add(int a, int b) { return a + b; }
__attribute__((noinline)) int memfix_mul(int a, int b) { return a * b; }
int memfix_sum(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s = memfix_add(s, memfix_mul(i, 2));
  return s;
}
