// Instrumented fixture of the graph ops tests: small functions whose calls
// leave in every way graph.h promises to handle. noinline everywhere: each
// call must be a real call of a traced function.
#include <execinfo.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#define FIX extern "C" __attribute__((noinline))

FIX long gf_leaf(long x) {
  asm volatile("" ::: "memory");
  return x + 1;
}
FIX long gf_mid(long x) { return gf_leaf(x) * 2; }
FIX long gf_top(long x) { return gf_mid(x) + gf_leaf(x); }
FIX double gf_fp(double x) { return x * 1.5; }
FIX long gf_recurse(long n) {
  if (n <= 0) return 0;
  long r = gf_recurse(n - 1);
  asm volatile("" : "+r"(r)::"memory");  // a real call, not a loop
  return r + 1;
}
// A tail call from a hooked function into another.
FIX long gf_tail(long x) { return gf_leaf(x + 1); }

// Exceptions.
FIX void gf_throw(long x) { throw std::runtime_error("boom"); }
FIX long gf_pass(long x) {
  gf_throw(x);
  return 1;
}
FIX long gf_catch(long x) {
  try {
    return gf_pass(x);
  } catch (const std::exception &) {
    return -1;
  }
}
// Uncaught by the fixture: the driver catches it (its frames are not traced).
FIX long gf_pass_out(long x) { return gf_pass(x) + 1; }

// longjmp.
static jmp_buf g_jb;
FIX void gf_jump(long x) { longjmp(g_jb, 1); }
FIX long gf_jump_mid(long x) {
  gf_jump(x);
  return 0;
}
FIX long gf_setjmp(long x) {
  if (setjmp(g_jb) == 0) return gf_jump_mid(x);
  return gf_leaf(x);  // after the jump: a new traced call at the same depth
}

// Signals: a handler running traced code while the thread is inside one.
static void on_usr1(int) { gf_leaf(100); }
FIX long gf_signal(long x) {
  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  return gf_leaf(x);
}

// Threads.
FIX void gf_exit_thread(long x) { pthread_exit(nullptr); }
FIX long gf_exit_mid(long x) {
  gf_exit_thread(x);
  return 0;
}
FIX long gf_cancel_wait(long x) {
  for (;;) pause();  // a cancellation point
  return 0;
}
FIX long gf_cancel_mid(long x) { return gf_cancel_wait(x); }

// fork inside a traced frame: the child returns through it.
FIX long gf_fork(long x) {
  pid_t pid = fork();
  if (pid == 0) _exit(gf_leaf(x) == x + 1 ? 7 : 1);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
FIX long gf_fork_child_returns(long x) {
  pid_t pid = fork();
  return pid;  // both return through the hooked frame
}

// swapcontext: a coroutine whose traced frames outlive a switch.
static ucontext_t g_main_ctx, g_co_ctx;
FIX long gf_co_yield(long x) {
  swapcontext(&g_co_ctx, &g_main_ctx);
  return x + 1;
}
FIX void gf_co_body() { gf_co_yield(gf_leaf(1)); }
FIX long gf_swap(long x) {
  static char stack[256 * 1024];
  getcontext(&g_co_ctx);
  g_co_ctx.uc_stack.ss_sp = stack;
  g_co_ctx.uc_stack.ss_size = sizeof stack;
  g_co_ctx.uc_link = &g_main_ctx;
  makecontext(&g_co_ctx, gf_co_body, 0);
  swapcontext(&g_main_ctx, &g_co_ctx);  // runs until the yield
  gf_leaf(x);                           // traced code on the main stack meanwhile
  swapcontext(&g_main_ctx, &g_co_ctx);  // resumes: gf_co_yield returns
  return gf_leaf(x);
}

// Backtraces from inside hooked frames.
FIX int gf_bt_inner(void **buf, int n) { return backtrace(buf, n); }
FIX int gf_bt_outer(void **buf, int n) {
  int r = gf_bt_inner(buf, n);
  asm volatile("" : "+r"(r)::"memory");  // a real call, not a tail call
  return r;
}

// Blocks inside a hooked frame until the driver says so.
FIX long gf_block(std::atomic<int> *gate) {
  gate->store(1);
  while (gate->load() != 2) sched_yield();
  return 2;
}
