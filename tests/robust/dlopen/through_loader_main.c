/* through_loader_main.c — started as `ld.so ./robust_dlopen_through_loader`
 * (issue 8, item 11), sled must still find and trace the program's own
 * sites: /proc/self/exe then names ld.so, not the program. With
 * --through-loader it also checks it really was started that way (the
 * kernel then loaded no interpreter: AT_BASE is 0). Exit status 0 when every
 * check holds. */
#include <sled/sled.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int dlr_main_target(int x);

static volatile unsigned long calls;

static void count(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs) {
  (void)parent_ip, (void)ops, (void)regs;
  if (ip == (uintptr_t)&dlr_main_target) calls++;
}

int main(int argc, char **argv) {
  const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  if (argc > 1 && strcmp(argv[1], "--through-loader") == 0) {
    if (getauxval(AT_BASE) != 0) {
      fprintf(stderr, "not started through the dynamic loader\n");
      return 2;
    }
  }
  sled_site_info info;
  if (sled_site_lookup((uintptr_t)&dlr_main_target, &info) != 0) {
    fprintf(stderr, "the program's own site was not found (%s)\n", sled_last_error());
    return 1;
  }
  if (strcmp(info.name, "dlr_main_target") != 0 || strcmp(info.module, self) != 0) {
    fprintf(stderr, "site named %s in module %s, expected dlr_main_target in %s\n", info.name,
            info.module, self);
    return 1;
  }
  static sled_ops ops = {.func = count};
  if (sled_set_filter(&ops, "dlr_main_target", 1) != 0 || sled_register_ops(&ops) != 0) {
    fprintf(stderr, "could not trace dlr_main_target (%s)\n", sled_last_error());
    return 1;
  }
  int r = dlr_main_target(1);
  sled_unregister_ops(&ops);
  if (r != 8 || calls != 1) {
    fprintf(stderr, "dlr_main_target returned %d, traced %lu calls (expected 8, 1)\n", r, calls);
    return 1;
  }
  printf("traced the program's own site\n");
  return 0;
}
