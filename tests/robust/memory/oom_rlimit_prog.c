/* oom_rlimit_prog.c — the program oom_rlimit.c runs under a low address
 * space limit: it links libsled.so and traces one of its functions.
 * Exit 0: traced; 20: ran untraced, sled said "out of memory"; any other
 * status, or a signal, is a failure (sled hurt it). */
#include <errno.h>
#include <sled/sled.h>
#include <string.h>

int memfix_sum(int n);

static unsigned g_calls;
static void count(uintptr_t ip, uintptr_t parent, sled_ops *ops, sled_regs *regs) { g_calls++; }

int main(void) {
  if (memfix_sum(4) != 12) return 10;
  sled_ops ops = {0};
  ops.func = count;
  int rc = sled_set_filter(&ops, "memfix_add", 1);
  if (rc == 0) rc = sled_register_ops(&ops);
  if (rc == -ENOMEM)
    return strstr(sled_last_error(), "out of memory") && memfix_sum(4) == 12 ? 20 : 11;
  if (rc != 0) return 12;
  g_calls = 0;
  if (memfix_sum(4) != 12 || g_calls != 4) return 13;
  return sled_unregister_ops(&ops) == 0 ? 0 : 14;
}
