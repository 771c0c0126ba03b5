/* ctl_prog.c — the program of the control socket's tests: calls alpha()
 * and beta() in a loop (rare() every 16th time) until a file named by its
 * first argument appears, then prints its counts and exits 0. Writes
 * "ready" to the file named by the second argument once it runs (after the
 * agent's constructor: the socket exists by then). Instrumented, not
 * linked with sled. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

volatile long sink;
NOINLINE void alpha(long i) { sink += i; }
NOINLINE void beta(long i) { sink ^= i; }
NOINLINE void rare(long i) { sink -= i; }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ctl_prog STOP_FILE READY_FILE\n");
    return 2;
  }
  FILE *ready = fopen(argv[2], "w");
  if (ready) {
    fputs("ready\n", ready);
    fclose(ready);
  }
  long i = 0;
  struct timespec pause = {0, 1000000}; /* 1 ms */
  while (access(argv[1], F_OK) != 0) {
    alpha(i);
    beta(i);
    if ((i & 15) == 0) rare(i);
    ++i;
    nanosleep(&pause, NULL);
  }
  printf("iterations=%ld\n", i);
  return 0;
}
