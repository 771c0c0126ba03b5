// oom_startup.cc — issue 8 item 21, start-up: an allocation failure while
// libsled starts (its constructor scans every module: the loader's list,
// libelf, the site tables) never aborts the program. libsled.a is linked in
// and alloc_fail.h arms the injector from a constructor that runs before
// sled's (a higher priority in the same executable).
//
// Without SLED_TEST_FAIL_AT in the environment this program is the driver:
// it runs itself with SLED_TEST_FAIL_AT=1, 2, ... (the Nth allocation of
// the start-up fails) until a run reports that start-up allocated fewer
// than N times. Each run must exit 0: main ran, the program computed the
// right results, and sled either works (the failure was absorbed, e.g. a
// module's scan redone at the next call) or refuses with -ENOMEM.
#include <errno.h>
#include <sled/sled.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include "alloc_fail.h"

extern "C" int memfix_sum(int n);
extern "C" int memfix_add(int a, int b);

namespace {

constexpr int kNotReached = 3;  // exit status: start-up made fewer allocations

__attribute__((constructor(101))) void arm_before_sled() {
  if (const char *n = getenv("SLED_TEST_FAIL_AT")) alloc_fail::arm(atol(n));
}

std::atomic<unsigned> g_calls{0};
void count(uintptr_t, uintptr_t, sled_ops *, sled_regs *) { g_calls++; }

int child() {
  bool fired = alloc_fail::disarm();
  if (!fired) return kNotReached;
  if (memfix_sum(4) != 12) return 10;
  sled_ops ops{};
  ops.func = count;
  int rc = sled_set_filter(&ops, "memfix_add", 1);
  if (rc == 0) rc = sled_register_ops(&ops);
  if (rc == -ENOMEM) {
    if (!strstr(sled_last_error(), "out of memory")) {
      fprintf(stderr, "-ENOMEM without saying so: %s\n", sled_last_error());
      return 11;
    }
    return memfix_sum(4) == 12 ? 0 : 12;
  }
  if (rc != 0) {
    fprintf(stderr, "register: %d (%s)\n", rc, sled_last_error());
    return 13;
  }
  g_calls = 0;
  if (memfix_sum(4) != 12) return 14;
  if (g_calls != 4) {
    fprintf(stderr, "traced %u calls of memfix_add, not 4\n", g_calls.load());
    return 15;
  }
  return sled_unregister_ops(&ops) == 0 ? 0 : 16;
}

int driver(const char *self) {
  for (long n = 1; n < 100000; n++) {
    fflush(nullptr);
    pid_t pid = fork();
    if (pid < 0) return perror("fork"), 1;
    if (pid == 0) {
      char value[32];
      snprintf(value, sizeof value, "%ld", n);
      setenv("SLED_TEST_FAIL_AT", value, 1);
      execl(self, self, static_cast<char *>(nullptr));
      _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return perror("waitpid"), 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kNotReached) {
      printf("oom_startup: each of the %ld allocations of start-up failed in turn: ok\n", n - 1);
      return n > 1 ? 0 : 1;  // start-up that allocates nothing tests nothing
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "oom_startup: allocation %ld failing: %s %d\n", n,
              WIFSIGNALED(status) ? "killed by signal" : "exit status",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
      return 1;
    }
  }
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  if (getenv("SLED_TEST_FAIL_AT")) return child();
  return driver("/proc/self/exe");
}
