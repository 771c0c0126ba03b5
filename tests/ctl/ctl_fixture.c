/* ctl_fixture.c — instrumented functions of ctl_inprocess (the control
 * socket tested inside one process that dlopens the agent). */
#define NOINLINE __attribute__((noinline))

volatile long ctl_sink;
NOINLINE void ctl_fixture_a(long i) { ctl_sink += i; }
NOINLINE void ctl_fixture_b(long i) { ctl_sink ^= i; }
