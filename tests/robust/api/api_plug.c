/* api_plug.c — a small instrumented library that the for_each_site test
 * loads and unloads from inside a walk. */
__attribute__((noinline)) long ra_plug_a(long x) { return x * 2; }
__attribute__((noinline)) long ra_plug_b(long x) { return x * 3; }
