// The direct-call grace period: after every site's call of a direct
// trampoline is gone (text writes synced), wait until no thread's program
// counter is inside it. A direct-called site runs no sled code, so sled's
// per-thread read sections cannot see such a thread; user space has no
// RCU-tasks either. Instead each other thread is asked where it is: a
// queued signal (SIGRTMIN + SLED_DIRECT_SIGNAL_OFFSET, tagged with a
// sequence number) whose handler records the interrupted program counter.
// A thread found inside is asked again later. A thread seen outside once
// after the last call went away can never enter again. A thread that does
// not answer (the signal blocked, or it is exiting) is judged by
// /proc/self/task/TID/syscall when it sits in the kernel (that file gives
// its user program counter), else asked again. Runs under the registry
// lock; the handler chains every signal that is not sled's to the handler
// installed before it. Owns nothing else; never touches sites.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/direct.h"
#include "core/error.h"

namespace sled {
namespace {

constexpr uint64_t kTag = 0x5e1d000000000000ull;  // sled's signals carry it in si_value
constexpr uint64_t kTagMask = 0xffff000000000000ull;
constexpr size_t kSlots = 256;  // threads asked at once

// One question in flight per slot. The writer stores `asked` (a fresh
// sequence number) before sending; the handler answers only the question
// its signal carries (a late signal of an earlier question is ignored):
// pc, then `answered` with release, which the writer reads with acquire.
struct Slot {
  std::atomic<uint64_t> asked{0};
  std::atomic<uint64_t> answered{0};
  std::atomic<uintptr_t> pc{0};
};
Slot g_slots[kSlots];  // static: a late signal always finds its slot
uint64_t g_seq = 0;    // under the registry lock
struct sigaction g_previous;
int g_signal = 0;  // 0: handler not installed yet

uintptr_t interrupted_pc(void *context) {
  auto *uc = static_cast<ucontext_t *>(context);
#if defined(__x86_64__)
  return static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#else
  return static_cast<uintptr_t>(uc->uc_mcontext.pc);
#endif
}

void on_signal(int sig, siginfo_t *info, void *context) {
  auto value = reinterpret_cast<uint64_t>(info->si_value.sival_ptr);
  if (info->si_code == SI_QUEUE && info->si_pid == getpid() && (value & kTagMask) == kTag) {
    uint64_t seq = value & ~kTagMask;
    Slot &slot = g_slots[seq % kSlots];
    // Relaxed: only the question still open is answered; the release
    // below publishes pc with it.
    if (slot.asked.load(std::memory_order_relaxed) != seq) return;
    slot.pc.store(interrupted_pc(context), std::memory_order_relaxed);
    slot.answered.store(seq, std::memory_order_release);
    return;
  }
  // Not ours: whatever was installed before.
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
  }
}

int install() {
  if (g_signal) return 0;
  int sig = SIGRTMIN + SLED_DIRECT_SIGNAL_OFFSET;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  if (sigaction(sig, &sa, &g_previous) != 0) {
    int err = errno;
    set_last_error("sigaction(SIGRTMIN+%d) for the direct-call grace period failed: %s",
                   SLED_DIRECT_SIGNAL_OFFSET, strerror(err));
    return -err;
  }
  g_signal = sig;
  return 0;
}

void sleep_us(long us) {
  timespec ts{0, us * 1000};
  nanosleep(&ts, nullptr);
}

int send(int tid, uint64_t seq) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  info.si_signo = g_signal;
  info.si_code = SI_QUEUE;
  info.si_pid = getpid();
  info.si_uid = getuid();
  info.si_value.sival_ptr = reinterpret_cast<void *>(kTag | seq);
  long rc = syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, g_signal, &info);
  return rc == 0 ? 0 : -errno;
}

// Where a thread that did not answer is, if the kernel can tell: 1 inside
// [lo, hi), 0 outside or gone, -1 unknown (running user code).
int kernel_view(int tid, uintptr_t lo, uintptr_t hi) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ESRCH ? 0 : -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return n < 0 && errno == ESRCH ? 0 : -1;
  buf[n] = '\0';
  if (buf[0] == 'r') return -1;  // "running"
  // "nr args... sp pc" or "-1 sp pc": the user pc is the last field.
  char *last = strrchr(buf, ' ');
  if (!last) return -1;
  uintptr_t pc = strtoull(last + 1, nullptr, 16);
  return pc >= lo && pc < hi ? 1 : 0;
}

// Asks each of tids[0..n) once. True when every one is known to be outside.
bool ask(const int *tids, size_t n, uintptr_t lo, uintptr_t hi) {
  uint64_t seqs[kSlots];
  bool pending[kSlots];
  for (size_t i = 0; i < n; i++) {
    seqs[i] = ++g_seq;
    Slot &slot = g_slots[seqs[i] % kSlots];
    slot.asked.store(seqs[i], std::memory_order_relaxed);  // sent after: the kernel orders it
    int err = send(tids[i], seqs[i]);
    pending[i] = err == 0;  // ESRCH: the thread is gone
  }
  bool clear = true;
  for (int round = 0; round < 200; round++) {  // up to ~10 ms for the answers
    bool waiting = false;
    for (size_t i = 0; i < n; i++) {
      if (!pending[i]) continue;
      Slot &slot = g_slots[seqs[i] % kSlots];
      if (slot.answered.load(std::memory_order_acquire) != seqs[i]) {
        waiting = true;
        continue;
      }
      uintptr_t pc = slot.pc.load(std::memory_order_relaxed);
      if (pc >= lo && pc < hi) clear = false;
      pending[i] = false;
    }
    if (!waiting) break;
    if (round < 20)
      sched_yield();
    else
      sleep_us(50);
  }
  for (size_t i = 0; i < n; i++)
    if (pending[i] && kernel_view(tids[i], lo, hi) != 0) clear = false;
  return clear;
}

}  // namespace

int direct_quiesce(uintptr_t lo, uintptr_t hi) {
  if (lo >= hi) return 0;
  if (int err = install()) return err;
  int self = static_cast<int>(syscall(SYS_gettid));
  for (unsigned attempt = 0;; attempt++) {
    DIR *dir = opendir("/proc/self/task");
    if (!dir) {
      int err = errno;
      set_last_error("opendir(/proc/self/task) failed: %s", strerror(err));
      return -err;
    }
    bool clear = true;
    int tids[kSlots];
    size_t n = 0;
    while (dirent *e = readdir(dir)) {
      int tid = atoi(e->d_name);
      if (tid <= 0 || tid == self) continue;
      tids[n++] = tid;
      if (n == kSlots) {
        clear &= ask(tids, n, lo, hi);
        n = 0;
      }
    }
    closedir(dir);
    if (n) clear &= ask(tids, n, lo, hi);
    if (clear) return 0;
    sleep_us(attempt < 10 ? 100 : 1000);  // a thread inside, or one that could not say
  }
}

}  // namespace sled
