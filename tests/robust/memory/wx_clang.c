/* wx_clang.c — one clang-compiled function for wx_test.c: its site needs
 * no one-time rewrite, so only the live patch meets the W^X policy. */
__attribute__((noinline)) int wx_twice(int x) { return 2 * x; }
