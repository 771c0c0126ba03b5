// Signals and live patching (issue 8, items 1-6): sled's patching must not
// depend on the program's signal masks, its own SIGTRAP handlers or a
// debugger. Worker threads and signal handlers call instrumented functions
// while the test thread registers, unregisters and switches strategy; every
// test fails (the process dies, or a handler sees a trap it did not plant)
// with a patch protocol that relies on SIGTRAP.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sig_fixture.h"
#include "sled_test_support.h"

using sled_test::Addr;
using sled_test::Tracer;

namespace {

constexpr int kRounds = 150;

struct Workers {
  std::atomic<bool> stop{false};
  std::atomic<long> calls{0}, wrong{0};
  std::vector<std::thread> threads;
  std::vector<pid_t> tids;
  std::mutex mu;

  // Starts n threads running body() until stop; `block_all` blocks every
  // signal in them first (thread pools, signalfd daemons).
  template <class Body>
  void Start(int n, bool block_all, Body body) {
    for (int i = 0; i < n; i++)
      threads.emplace_back([this, block_all, body] {
        if (block_all) {
          sigset_t all;
          sigfillset(&all);
          pthread_sigmask(SIG_BLOCK, &all, nullptr);
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          tids.push_back(static_cast<pid_t>(syscall(SYS_gettid)));
        }
        while (!stop.load(std::memory_order_relaxed)) {
          body(*this);
          calls.fetch_add(1, std::memory_order_relaxed);
        }
      });
  }
  ~Workers() {
    stop = true;
    for (auto &t : threads) t.join();
  }
};

void CallSigWork(Workers &w) {
  for (int i = 0; i < 64; i++)
    if (sig_work(i) != i + 1) w.wrong++;
}

// An ops whose callback only counts: async-signal-safe, since these tests
// run traced code inside signal handlers (Tracer's callback allocates).
struct CountingOps {
  sled_ops ops{};
  static std::atomic<long> calls;
  static void Count(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
    calls.fetch_add(1, std::memory_order_relaxed);
  }
  explicit CountingOps(const char *filter) {
    ops.func = Count;
    EXPECT_EQ(sled_set_filter(&ops, filter, 1), 0) << sled_last_error();
  }
  int Register() { return sled_register_ops(&ops); }
  int Unregister() { return sled_unregister_ops(&ops); }
};
std::atomic<long> CountingOps::calls{0};

// Registers and unregisters `t` kRounds times, cycling the strategies.
void Toggle(CountingOps &t) {
  for (int i = 0; i < kRounds; i++) {
    if (i % 10 == 0) ASSERT_EQ(sled_set_strategy(sled_test::kStrategies[(i / 10) % 3]), 0);
    ASSERT_EQ(t.Register(), 0) << sled_last_error();
    ASSERT_EQ(t.Unregister(), 0) << sled_last_error();
  }
  ASSERT_EQ(sled_set_strategy("callops"), 0);
}

void ResetTrap() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGTRAP, &dfl, nullptr);
}

TEST(Signals, SledInstallsNoSignalHandler) {
  ResetTrap();
  CountingOps t("sig_work");
  ASSERT_EQ(t.Register(), 0);
  EXPECT_EQ(sig_work(1), 2);
  ASSERT_EQ(t.Unregister(), 0);
  // Sanitizer runtimes install their own SIGSEGV/SIGBUS handlers: what
  // matters is that no handler lives in libsled.
  for (int sig : {SIGTRAP, SIGILL, SIGSEGV, SIGBUS}) {
    struct sigaction cur {};
    ASSERT_EQ(sigaction(sig, nullptr, &cur), 0);
    if (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN) continue;
    EXPECT_EQ(sled_test::ModuleOf(reinterpret_cast<uintptr_t>(cur.sa_handler)).find("libsled"),
              std::string::npos)
        << "signal " << sig;
  }
  struct sigaction trap {};
  ASSERT_EQ(sigaction(SIGTRAP, nullptr, &trap), 0);
  EXPECT_EQ(trap.sa_handler, SIG_DFL);
}

// Item 1: threads that block every signal (and a signalfd-style daemon).
TEST(Signals, ThreadsBlockingEverySignalSurvivePatching) {
  Workers w;
  w.Start(2, true, CallSigWork);
  CountingOps t("sig_work");
  Toggle(t);
  w.stop = true;
  for (auto &th : w.threads) th.join();
  w.threads.clear();
  EXPECT_GT(w.calls.load(), 0);
  EXPECT_EQ(w.wrong.load(), 0);
}

// Item 1: a handler with a full sa_mask (and an ordinary one) that calls
// traced code, interrupting threads that are themselves calling it.
std::atomic<long> g_handler_calls{0};
void OnUsr(int) {
  if (sig_handler_work(1) == 3) g_handler_calls.fetch_add(1, std::memory_order_relaxed);
}

TEST(Signals, HandlersCallingTracedCodeSurvivePatching) {
  struct sigaction sa {};
  sa.sa_handler = OnUsr;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  struct sigaction old1, old2;
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old1), 0);
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old2), 0);
  {
    Workers w;
    w.Start(2, false, CallSigWork);
    std::atomic<bool> stop_spam{false};
    std::thread spammer([&] {
      for (unsigned n = 0; !stop_spam.load(); n++) {
        std::vector<pid_t> tids;
        {
          std::lock_guard<std::mutex> lock(w.mu);
          tids = w.tids;
        }
        for (pid_t tid : tids) syscall(SYS_tgkill, getpid(), tid, n % 2 ? SIGUSR1 : SIGUSR2);
        usleep(50);
      }
    });
    CountingOps t("sig_work sig_handler_work");
    Toggle(t);
    stop_spam = true;
    spammer.join();
    EXPECT_EQ(w.wrong.load(), 0);
  }
  sigaction(SIGUSR1, &old1, nullptr);
  sigaction(SIGUSR2, &old2, nullptr);
  EXPECT_GT(g_handler_calls.load(), 0);
}

// Items 3 and 6: the program's own SIGTRAP handlers, installed after sled
// started, keep their semantics: called once per raise, chaining to their
// predecessor as they choose, SA_RESETHAND honoured, never displaced.
struct sigaction g_prev_trap;
std::atomic<int> g_trap_hits{0};
void ChainingTrapHandler(int sig, siginfo_t *info, void *uc) {
  g_trap_hits++;
  if (g_prev_trap.sa_flags & SA_SIGINFO) {
    if (g_prev_trap.sa_sigaction) g_prev_trap.sa_sigaction(sig, info, uc);
  } else if (g_prev_trap.sa_handler != SIG_DFL && g_prev_trap.sa_handler != SIG_IGN) {
    g_prev_trap.sa_handler(sig);
  }
}

TEST(Signals, ProgramTrapHandlerThatChainsRunsOnce) {
  ResetTrap();
  CountingOps t("sig_work");
  ASSERT_EQ(t.Register(), 0);  // sled is running
  struct sigaction sa {};
  sa.sa_sigaction = ChainingTrapHandler;
  sa.sa_flags = SA_SIGINFO;
  ASSERT_EQ(sigaction(SIGTRAP, &sa, &g_prev_trap), 0);
  ASSERT_EQ(t.Unregister(), 0);  // batches after the program's install
  ASSERT_EQ(t.Register(), 0);
  g_trap_hits = 0;
  raise(SIGTRAP);
  EXPECT_EQ(g_trap_hits.load(), 1);
  struct sigaction cur {};
  ASSERT_EQ(sigaction(SIGTRAP, nullptr, &cur), 0);
  EXPECT_EQ(cur.sa_sigaction, ChainingTrapHandler);
  ASSERT_EQ(t.Unregister(), 0);
  ResetTrap();
}

std::atomic<int> g_reset_hits{0};
void ResetHandHandler(int) { g_reset_hits++; }

TEST(Signals, ResetHandTrapHandlerIsHonoured) {
  ResetTrap();
  CountingOps t("sig_work");
  struct sigaction sa {};
  sa.sa_handler = ResetHandHandler;
  sa.sa_flags = SA_RESETHAND;
  ASSERT_EQ(sigaction(SIGTRAP, &sa, nullptr), 0);
  ASSERT_EQ(t.Register(), 0);
  ASSERT_EQ(t.Unregister(), 0);
  raise(SIGTRAP);
  EXPECT_EQ(g_reset_hits.load(), 1);
  struct sigaction cur {};
  ASSERT_EQ(sigaction(SIGTRAP, nullptr, &cur), 0);
  EXPECT_EQ(cur.sa_handler, SIG_DFL);  // the kernel reset it, as without sled
  ResetTrap();
}

// Items 4 and 5: a SIGTRAP handler installed and removed while batches run
// never receives a trap it did not plant, and toggling never kills.
std::atomic<int> g_stray_traps{0};
void CountingTrapHandler(int) { g_stray_traps++; }

TEST(Signals, HandlerInstalledDuringBatchesSeesNoTraps) {
  ResetTrap();
  Workers w;
  w.Start(2, false, CallSigWork);
  std::atomic<bool> stop_flip{false};
  std::thread flipper([&] {
    struct sigaction sa {};
    sa.sa_handler = CountingTrapHandler;
    while (!stop_flip.load()) {
      sigaction(SIGTRAP, &sa, nullptr);
      usleep(20);
      ResetTrap();
      usleep(20);
    }
  });
  CountingOps t("sig_work");
  Toggle(t);
  stop_flip = true;
  flipper.join();
  EXPECT_EQ(g_stray_traps.load(), 0);
  EXPECT_EQ(w.wrong.load(), 0);
}

#if defined(__x86_64__)
// The three site alignments of the trap-free protocol: each is enabled and
// disabled while threads call it; every call returns the right value and,
// while enabled, the callback sees exactly the calls made.
TEST(Patching, EverySiteAlignmentTogglesUnderLoad) {
  int (*const fns[])(int) = {layout_whole8, layout_whole16, layout_stepped};
  const char *names[] = {"layout_whole8", "layout_whole16", "layout_stepped"};
  EXPECT_EQ(Addr(layout_whole8) % 16, 0u);
  EXPECT_EQ(Addr(layout_whole16) % 16, 0u);
  EXPECT_EQ(Addr(layout_stepped) % 16, 8u);
  auto call_all = [&](Workers &self) {
    for (int i = 0; i < 16; i++)
      for (auto fn : fns)
        if (fn(i) != i + 1) self.wrong++;
  };
  Workers w;
  w.Start(2, false, call_all);
  for (int f = 0; f < 3; f++) {
    SCOPED_TRACE(names[f]);
    ASSERT_TRUE(sled_test::IsSiteNop(sled_test::PatchBytes(Addr(fns[f]))));
    Tracer t;
    ASSERT_EQ(t.SetFilter(names[f]), 0) << sled_last_error();
    for (int round = 0; round < 40; round++) {
      if (round % 8 == 0) ASSERT_EQ(sled_set_strategy(sled_test::kStrategies[(round / 8) % 3]), 0);
      ASSERT_EQ(t.Register(), 0) << sled_last_error();
      ASSERT_TRUE(sled_test::IsSiteCall(sled_test::PatchBytes(Addr(fns[f]))));
      ASSERT_EQ(t.Unregister(), 0) << sled_last_error();
      ASSERT_TRUE(sled_test::IsSiteNop(sled_test::PatchBytes(Addr(fns[f]))));
    }
    ASSERT_EQ(sled_set_strategy("callops"), 0);
    w.stop = true;
    for (auto &th : w.threads) th.join();
    w.threads.clear();
    w.stop = false;
    ASSERT_EQ(t.Register(), 0);
    t.Clear();
    for (int i = 0; i < 1000; i++) ASSERT_EQ(fns[f](i), i + 1);
    EXPECT_EQ(t.Count(Addr(fns[f])), 1000u);
    ASSERT_EQ(t.Unregister(), 0);
    w.Start(2, false, call_all);
  }
  EXPECT_EQ(w.wrong.load(), 0);
  sled_stats st = sled_test::Stats();
  EXPECT_FALSE(st.killed);
}

// One batch over the three alignments at once: the stepped site sends the
// whole batch down the general path (it orders every site's steps
// batch-wide), while the two whole sites alone take the slim path
// (core/update_slim.cc). Either way, under load, every call returns the
// right value, and while enabled every call is seen.
TEST(Patching, MixedBatchWithASteppedSite) {
  int (*const fns[])(int) = {layout_whole8, layout_whole16, layout_stepped};
  auto call_all = [&](Workers &self) {
    for (int i = 0; i < 16; i++)
      for (auto fn : fns)
        if (fn(i) != i + 1) self.wrong++;
  };
  struct Case {
    const char *filter;
    size_t selected;  // fns[0, selected) are in the batch
  };
  for (Case c : {Case{"layout_*", 3}, Case{"layout_whole8 layout_whole16", 2}}) {
    SCOPED_TRACE(c.filter);
    Workers w;
    w.Start(2, false, call_all);
    Tracer t;
    for (int round = 0; round < 20; round++) {
      ASSERT_EQ(t.SetFilter(c.filter), 0) << sled_last_error();  // unregister forgot it
      ASSERT_EQ(t.Register(), 0) << sled_last_error();
      for (size_t f = 0; f < 3; f++)
        ASSERT_EQ(sled_test::IsSiteCall(sled_test::PatchBytes(Addr(fns[f]))), f < c.selected) << f;
      ASSERT_EQ(t.Unregister(), 0) << sled_last_error();
      for (auto fn : fns) ASSERT_TRUE(sled_test::IsSiteNop(sled_test::PatchBytes(Addr(fn))));
    }
    w.stop = true;
    for (auto &th : w.threads) th.join();
    w.threads.clear();
    EXPECT_EQ(w.wrong.load(), 0);
    ASSERT_EQ(t.SetFilter(c.filter), 0) << sled_last_error();
    ASSERT_EQ(t.Register(), 0) << sled_last_error();
    t.Clear();
    for (auto fn : fns)
      for (int i = 0; i < 100; i++) ASSERT_EQ(fn(i), i + 1);
    for (size_t f = 0; f < 3; f++)
      EXPECT_EQ(t.Count(Addr(fns[f])), f < c.selected ? 100u : 0u) << f;
    ASSERT_EQ(t.Unregister(), 0) << sled_last_error();
  }
  EXPECT_FALSE(sled_test::Stats().killed);
}
#endif

}  // namespace
