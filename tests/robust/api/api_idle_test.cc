// api_idle_test.cc — a thread that leaves a callback by siglongjmp and then
// sits idle must not hold up another thread's sled_unregister_ops forever
// (issue 8, item 15). Such a thread makes no traced or sled call that could
// tell sled its section is over: the grace period has to see it from
// outside, because the abandoned frame was overwritten (the thread called
// deeper since, into libc's read). The second test blocks with a raw
// system call instruction right after the jump, so the frame stays intact:
// nothing outside the thread can tell that section from a live one (a
// handler on an alternate stack would look the same), so unregister waits
// until the thread runs again, and must then finish. Not run under
// qemu-user (CMake): there the kernel sees the emulator's threads.
#include <gtest/gtest.h>
#include <sched.h>
#include <sled/sled.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csetjmp>
#include <thread>

extern "C" long ra_f3(long x);

namespace {

sigjmp_buf g_jump;
std::atomic<bool> g_armed{false};
char g_byte;

void JumpCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  if (g_armed.exchange(false)) siglongjmp(g_jump, 1);
}

// read(fd, &g_byte, 1) without a libc call: nothing writes the stack.
long RawRead(int fd) {
#if defined(__x86_64__)
  long ret;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(static_cast<long>(SYS_read)), "D"(static_cast<long>(fd)), "S"(&g_byte), "d"(1L)
               : "rcx", "r11", "memory");
  return ret;
#else
  register long x8 asm("x8") = SYS_read;
  register long x0 asm("x0") = fd;
  register long x1 asm("x1") = reinterpret_cast<long>(&g_byte);
  register long x2 asm("x2") = 1;
  asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
#endif
}

// Runs the scenario: the worker jumps out of the callback, then blocks
// (through libc, or with a raw system call), while this thread unregisters.
void RunIdleAfterJump(bool raw) {
  alarm(30);  // a hang ends the process: a failure, not a ctest timeout
  sled_ops a{};
  a.func = JumpCallback;
  ASSERT_EQ(sled_set_filter(&a, "ra_f3", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  std::atomic<bool> jumped{false};
  std::thread worker([&] {
    g_armed = true;
    if (sigsetjmp(g_jump, 1) == 0) ra_f3(1);
    jumped.store(true, std::memory_order_relaxed);
    if (raw) {
      while (RawRead(pipefd[0]) == -EINTR) {
      }
      return;
    }
    char c;
    while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
    }
  });
  while (!jumped.load(std::memory_order_relaxed)) sched_yield();
  usleep(20 * 1000);  // blocked by now (most likely)
  if (raw) {
    // Waits for the worker (its frame is intact), which the write wakes.
    std::atomic<int> rc{1};
    std::thread unregister([&] { rc = sled_unregister_ops(&a); });
    usleep(50 * 1000);
    ASSERT_EQ(write(pipefd[1], "x", 1), 1);
    unregister.join();
    EXPECT_EQ(rc.load(), 0);
  } else {
    EXPECT_EQ(sled_unregister_ops(&a), 0);
    ASSERT_EQ(write(pipefd[1], "x", 1), 1);
  }
  worker.join();
  close(pipefd[0]);
  close(pipefd[1]);
  alarm(0);
}

TEST(NonLocalExit, LongjmpThenIdleDoesNotHangUnregister) { RunIdleAfterJump(false); }

TEST(NonLocalExit, LongjmpThenBlockedInASystemCallHoldsUnregisterUntilItWakes) {
  RunIdleAfterJump(true);
}

}  // namespace
