// api_sandbox_test.cc — a register that fails half-way (issue 8, item 17).
// The program enters a seccomp sandbox after sled started: membarrier now
// fails with EPERM. A register whose batch changes an already traced
// function's literal and must write another function's call fails at the
// call; every literal it wrote must be put back before it returns, so that
// the caller may free the ops at once while threads keep calling both
// functions (ASan reports the use-after-free otherwise; plain builds count
// callbacks that run after the failure). Its own executable: the sandbox
// cannot be left, and a fork child could not start threads under TSan.
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sled/sled.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <thread>
#include <vector>

extern "C" {
long ra_f0(long x);
long ra_f1(long x);
}

namespace {

std::atomic<bool> g_failed{false};
std::atomic<int> g_bad{0};

void Nop(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {}

void SandboxCallback(uintptr_t, uintptr_t, sled_ops *ops, sled_regs *) {
  // Reads the ops and its data (both freed after the failed register).
  if (*static_cast<volatile int *>(ops->private_data) != 0x5eed) g_bad++;
  if (g_failed.load()) g_bad++;
}

// Makes membarrier fail with EPERM for the calling thread (the one that
// calls sled below) from now on.
int DenyMembarrier() {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return -errno;
  return 0;
}

TEST(FailedRegister, MembarrierDeniedLeavesNoOpsReachable) {
  alarm(60);
  sled_ops a{};
  a.func = Nop;
  ASSERT_EQ(sled_set_filter(&a, "ra_f0", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; i++)
    workers.emplace_back([&] {
      while (!stop.load()) {
        ra_f0(1);
        ra_f1(1);
      }
    });
  auto join = [&] {
    stop = true;
    for (auto &t : workers) t.join();
  };
  if (int err = DenyMembarrier()) {
    join();
    FAIL() << "seccomp: " << err;
  }
  auto *b = static_cast<sled_ops *>(calloc(1, sizeof(sled_ops)));
  auto *data = static_cast<int *>(malloc(sizeof(int)));
  *data = 0x5eed;
  b->func = SandboxCallback;
  b->private_data = data;
  // ra_f0 is traced already (only its literal changes); ra_f1 needs its
  // call written, which needs membarrier(SYNC_CORE): the batch fails.
  EXPECT_EQ(sled_set_filter(b, "ra_f0 ra_f1", 1), 0);
  EXPECT_LT(sled_register_ops(b), 0);
  g_failed = true;
  *data = 0;  // a callback that still runs for b now counts as bad
  free(data);
  free(b);
  usleep(100 * 1000);
  join();
  EXPECT_EQ(g_bad.load(), 0) << "the failed ops' callback ran after register returned";
  // a still works: its callback runs, and it can leave (only literals change).
  EXPECT_EQ(ra_f0(1), 2);
  EXPECT_EQ(sled_unregister_ops(&a), 0);
  alarm(0);
}

}  // namespace
