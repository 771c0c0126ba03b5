/* Instrumented fixture of the async unregister tests. */
__attribute__((noinline)) long as_work(long x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}
__attribute__((noinline)) long as_other(long x) {
  __asm__ volatile("" ::: "memory");
  return x * 3;
}
