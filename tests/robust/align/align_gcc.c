/* align_gcc.c — the case as GCC makes it, built by GCC: al_gcc_leaf is
 * static, needs no stack alignment, and all its callers are known, so
 * al_gcc_outer (two pushes, no realignment) calls it with %rsp = 8 mod 16.
 * align_test.cc checks that the call really is misaligned (the return
 * address's slot at 0 mod 16), so a GCC that stops doing this shows up as
 * a failure instead of a test that passes without testing. */
volatile long al_gcc_sink;

static __attribute__((noinline)) long al_gcc_leaf(long x) { return al_gcc_sink += x; }

long al_gcc_outer(long a) {
  long r = al_gcc_leaf(a);
  r += al_gcc_leaf(r);
  return r * a;
}
