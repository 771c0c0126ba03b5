/* stress_fixture.c — the instrumented functions the stress test's workers
 * call in a loop (built with gcc and with clang, one executable each). */
#if defined(__clang__)
#define FIX_NOINLINE __attribute__((noinline))
#else
#define FIX_NOINLINE __attribute__((noipa))
#endif

volatile long st_sink0, st_sink1, st_sink2;

FIX_NOINLINE long st_f0(long x) {
  st_sink0++;
  return x * 3 + 1;
}

FIX_NOINLINE long st_f1(long x, long y) {
  st_sink1++;
  return x * y - 5;
}

FIX_NOINLINE double st_f2(long x, double d) {
  st_sink2++;
  return (double)x * 0.5 + d;
}
