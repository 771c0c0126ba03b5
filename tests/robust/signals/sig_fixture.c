/* sig_fixture.c — instrumented functions the signal tests call from worker
 * threads and from signal handlers while the test thread patches them. */
#include "sig_fixture.h"

int sig_work(int x) {
  __asm__ volatile("" : : : "memory");
  return x + 1;
}

int sig_handler_work(int x) {
  __asm__ volatile("" : : : "memory");
  return x + 2;
}
