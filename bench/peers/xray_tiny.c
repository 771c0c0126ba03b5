/* xray_tiny.c — the tiny function of bench/dispatch/tiny_fn.c, built for
 * LLVM XRay: XRAY_VARIANT=all (-fxray-instrumentation-bundle=all, entry and
 * exit sleds: XRay's default) and XRAY_VARIANT=entry (function-entry only,
 * what sled traces), both -fxray-instruction-threshold=1 so that XRay does
 * not skip a function this small. */
#include "xray_tiny.h"

#define XRAY_TINY_NAME2(variant) xray_tiny_##variant
#define XRAY_TINY_NAME(variant) XRAY_TINY_NAME2(variant)

__attribute__((noinline)) int XRAY_TINY_NAME(XRAY_VARIANT)(int x) {
  __asm__ volatile("");
  return x + 1;
}
