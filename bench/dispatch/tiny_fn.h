/* tiny_fn.h — the function whose calls sled-bench-dispatch and
 * sled-bench-peers time: tiny_fn.c built twice, with sled's patch site
 * (dispatch_tiny_traced) and without (dispatch_tiny_plain). */
#ifndef SLED_BENCH_DISPATCH_TINY_FN_H
#define SLED_BENCH_DISPATCH_TINY_FN_H

#ifdef __cplusplus
extern "C" {
#endif

int dispatch_tiny_traced(int x); /* the traced function */
int dispatch_tiny_plain(int x);  /* the same code, no patch site */

#ifdef __cplusplus
}
#endif
#endif /* SLED_BENCH_DISPATCH_TINY_FN_H */
