/* Instrumented fixture of the direct-call tests. */
__attribute__((noinline)) long dt_alone(long x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}
__attribute__((noinline)) long dt_shared(long x) {
  __asm__ volatile("" ::: "memory");
  return x * 3;
}
/* Every integer and the first FP argument registers carry values: a direct
 * trampoline (or sled's, continuing into it) must leave them alone. */
__attribute__((noinline)) double dt_args(long a, long b, long c, long d, long e, long f, double x,
                                         double y) {
  return (double)(a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f) + x * y;
}
