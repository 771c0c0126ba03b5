/* follow_prog.c — the program of `sled record --follow`'s golden test: it
 * runs a copy of itself (fork + exec of /proc/self/exe) and waits for it,
 * so the trace directory gets a second process. Fixed calls on each side
 * and an output line from each, in a fixed order (the parent prints after
 * the child exited). Instrumented, not linked with sled. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

NOINLINE int leaf(int x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}
NOINLINE int child_work(int x) { return leaf(x) + leaf(x + 1); }
NOINLINE int run_child(void) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execl("/proc/self/exe", "follow_prog", "child", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
NOINLINE int parent_work(void) { return leaf(10) + run_child(); }

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "child")) {
    printf("child: %d\n", child_work(1));
    fflush(stdout);
    return 5;
  }
  printf("parent: %d\n", parent_work());
  return 0;
}
