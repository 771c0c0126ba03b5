/* api_fixture.c — the instrumented functions the callback/API robustness
 * tests trace (issue 8, items 14-20 and 24). Each test uses its own
 * function so that tests do not see each other's ops. */
#if defined(__clang__)
#define FIX_NOINLINE __attribute__((noinline))
#else
#define FIX_NOINLINE __attribute__((noipa))
#endif

volatile long ra_sink;

FIX_NOINLINE long ra_f0(long x) {
  ra_sink++;
  return x + 1;
}
FIX_NOINLINE long ra_f1(long x) {
  ra_sink++;
  return x + 2;
}
FIX_NOINLINE long ra_f2(long x) {
  ra_sink++;
  return x + 3;
}
FIX_NOINLINE long ra_f3(long x) {
  ra_sink++;
  return x + 4;
}
FIX_NOINLINE long ra_f4(long x) {
  ra_sink++;
  return x + 5;
}
FIX_NOINLINE long ra_f5(long x) {
  ra_sink++;
  return x + 6;
}
