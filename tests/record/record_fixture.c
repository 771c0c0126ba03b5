/* Instrumented functions whose sites the recorder's symbol table must
 * list (recorder_test.cc): their addresses are used as event ips. */
__attribute__((noinline)) int rec_fix_alpha(int x) { return x * 3 + 1; }
__attribute__((noinline)) int rec_fix_beta(int x) { return rec_fix_alpha(x) - 2; }
__attribute__((noinline)) int rec_fix_gamma(int x) { return rec_fix_beta(x) ^ 5; }
