/* tiny.c — the benchmark's workload: the smallest function worth a call.
 *
 * Compiled twice by bench/CMakeLists.txt, with BENCH_VARIANT=traced (and
 * sled_instrument) and BENCH_VARIANT=plain (no patch site), so the only
 * difference between tiny_traced and tiny_plain is the patch site. noinline
 * plus a separate translation unit keep every call a real call; the empty
 * asm keeps the body from being folded into the caller's arithmetic. */
#include "tiny.h"

#define BENCH_NAME2(name, variant) name##_##variant
#define BENCH_NAME(name, variant) BENCH_NAME2(name, variant)

__attribute__((noinline)) int BENCH_NAME(tiny, BENCH_VARIANT)(int x) {
  __asm__ volatile("");
  return x + 1;
}

__attribute__((noinline)) int BENCH_NAME(other, BENCH_VARIANT)(int x) {
  __asm__ volatile("");
  return x + 2;
}
