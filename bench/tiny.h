/* tiny.h — the functions sled-bench-call calls, from tiny.c built twice:
 * *_traced with sled's patch sites, *_plain without. */
#ifndef SLED_BENCH_TINY_H
#define SLED_BENCH_TINY_H

#ifdef __cplusplus
extern "C" {
#endif

int tiny_traced(int x);  /* the function under test */
int other_traced(int x); /* traced in state 4 instead of tiny_traced */
int tiny_plain(int x);   /* the same code without patch site */
int other_plain(int x);

#ifdef __cplusplus
}
#endif
#endif /* SLED_BENCH_TINY_H */
