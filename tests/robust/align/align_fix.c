/* align_fix.c — the instrumented functions of the stack-alignment tests
 * (align_test.cc): a leaf, and one that calls back (compiled with
 * -fexceptions, so a C++ exception thrown by the callback unwinds through
 * it and, when it is hooked by a graph ops, through sled's landing pad). */
__attribute__((noinline)) long al_target(long x) { return x * 2 + 1; }

/* Realigns its own stack (it is called misaligned, and the callbacks it
 * calls are ordinary code): only the call into it is off by 8. */
__attribute__((noinline, force_align_arg_pointer)) long al_calls_back(long fn) {
  long r = ((long (*)(long))fn)(3);
  __asm__ volatile("" ::: "memory"); /* not a tail call */
  return r + 1;
}
