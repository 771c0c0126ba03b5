/* floor_handler.c — the empty C handler the floor stubs of floors.S call:
 * a real out-of-line call, like a callback, with the handler's own
 * prologue and epilogue whatever the compiler makes of an empty body. */
#include "floors.h"

__attribute__((noinline, used, visibility("hidden"))) void floor_empty_handler(uintptr_t ip,
                                                                               uintptr_t parent) {
  (void)ip;
  (void)parent;
  __asm__ volatile("");
}
