/* oom_rlimit.c — issue 8 item 21 under real memory pressure: runs
 * oom_rlimit_prog (argv[1]) under RLIMIT_AS limits, as `ulimit -v` would.
 * It first finds the floor: the lowest limit (64 KiB steps from 4 MiB) at
 * which the program loads at all. Then, from 256 KiB above the floor to
 * 10 MiB above it in 128 KiB steps, the program must run to its end: traced
 * (exit 0) or untraced with sled's -ENOMEM (exit 20), never killed by a
 * signal (an escaped std::bad_alloc aborts). The sweep must meet both.
 * Why 256 KiB above the floor: right at it the C++ runtime could not even
 * allocate its emergency exception pool, and any C++ program there dies on
 * its first exception, with or without sled (README: limitations). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program's exit status under `limit`, or -signal. */
static int run(const char *prog, rlim_t limit) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return perror("fork"), exit(2), 0;
  if (pid == 0) {
    struct rlimit rl = {limit, limit};
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(125);
    int devnull = open("/dev/null", 1);
    if (devnull >= 0) dup2(devnull, 2); /* the loader's complaints below the floor */
    execl(prog, prog, (char *)NULL);
    _exit(126);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return perror("waitpid"), exit(2), 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

int main(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: oom_rlimit PROGRAM\n"), 2;
  const rlim_t kib = 1024;
  rlim_t floor = 4096 * kib;
  for (int code; floor < 256 * 1024 * kib && ((code = run(argv[1], floor)) == 127 || code == 126);)
    floor += 64 * kib;
  unsigned traced = 0, refused = 0, bad = 0;
  for (rlim_t limit = floor + 256 * kib; limit <= floor + 10 * 1024 * kib; limit += 128 * kib) {
    int code = run(argv[1], limit);
    if (code == 0)
      traced++;
    else if (code == 20)
      refused++;
    else {
      bad++;
      fprintf(stderr, "oom_rlimit: at %lu KiB: %s %d\n", (unsigned long)(limit / kib),
              code < 0 ? "killed by signal" : "exit status", code < 0 ? -code : code);
    }
  }
  printf("oom_rlimit: floor %lu KiB; traced %u, untraced with -ENOMEM %u, hurt %u\n",
         (unsigned long)(floor / kib), traced, refused, bad);
  return bad == 0 && traced > 0 && refused > 0 ? 0 : 1;
}
