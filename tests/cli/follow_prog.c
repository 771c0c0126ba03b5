/* follow_prog.c — the program of `sled record --follow`'s golden test: it
 * runs a copy of itself (fork + exec of /proc/self/exe), then forks a child
 * that runs on without exec, and waits for each: with --follow the trace
 * directory gets three processes. Fixed calls in each and an output line
 * from each, in a fixed order (the parent prints after its children
 * exited). Instrumented, not linked with sled. */
#include <stdio.h>
#include <stdlib.h>
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
NOINLINE int fork_work(int x) { return leaf(x) * 3; }
NOINLINE int fork_child(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    printf("forked: %d\n", fork_work(2));
    fflush(stdout);
    exit(6); /* exit, not _exit: the agent's destructor closes the child's trace */
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
NOINLINE int parent_work(void) { return leaf(10) + run_child() + fork_child(); }

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "child")) {
    printf("child: %d\n", child_work(1));
    fflush(stdout);
    return 5;
  }
  printf("parent: %d\n", parent_work());
  return 0;
}
