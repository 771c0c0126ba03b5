/* floors.h — the hand-written floors of floors.S (x86_64 and aarch64):
 * functions with tiny()'s body behind a call at their entry into a stub.
 * SLED_BENCH_FLOORS is 1 where they exist. */
#ifndef SLED_BENCH_FLOORS_H
#define SLED_BENCH_FLOORS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int floor_call_ret(int x);     /* F1: a stub that only returns */
int floor_save_call(int x);    /* F2: saves the GPRs sled saves, calls an empty C handler */
int floor_save_fp_call(int x); /* F3: F2 plus the 8 FP/SIMD argument registers */
void floor_empty_handler(uintptr_t ip, uintptr_t parent);

#ifdef __cplusplus
}
#endif
#endif /* SLED_BENCH_FLOORS_H */
