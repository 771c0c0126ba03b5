/* uftrace_tiny.c — the tiny function for uftrace: built with -pg (mcount
 * calls, `uftrace record`) and with -fpatchable-function-entry=5 (NOPs that
 * `uftrace record -P .` patches at start-up). */
__attribute__((noinline)) int uftrace_tiny(int x) {
  __asm__ volatile("");
  return x + 1;
}
