/* tiny_fn.c — `int tiny(int)`, the workload of every per-call figure.
 *
 * Built twice by bench/dispatch/CMakeLists.txt: TINY_VARIANT=traced with
 * sled_instrument, TINY_VARIANT=plain without, both -O2 -fcf-protection=none,
 * so the only difference is the patch site. noinline and a translation unit
 * of its own keep every call a real call; the empty asm keeps the body from
 * being folded into the caller. */
#include "tiny_fn.h"

#define TINY_NAME2(variant) dispatch_tiny_##variant
#define TINY_NAME(variant) TINY_NAME2(variant)

__attribute__((noinline)) int TINY_NAME(TINY_VARIANT)(int x) {
  __asm__ volatile("");
  return x + 1;
}
