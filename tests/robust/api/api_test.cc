// api_test.cc — callbacks, the API and lifetime (issue 8, items 14-20, 24).
// Each test reproduces one way a callback or an API call used to hurt the
// host: a deadlock against another thread's grace period (a query or fork
// from a callback), a hang after a non-local exit from a callback, a
// use-after-free after a failed register (api_sandbox_test.cc), a dead ops' filter inherited by a
// new one, a silent wrap of the ops count, an unbounded sled_regs_arg, and a
// walk invalidated by dlopen/dlclose. A hang becomes a quick failure through
// alarm() (the default SIGALRM action ends the process), never a ctest
// timeout.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sled/sled.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csetjmp>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern "C" {
long ra_f0(long x);
long ra_f1(long x);
long ra_f2(long x);
long ra_f3(long x);
long ra_f4(long x);
long ra_f5(long x);
}

namespace {

// Ends the process (a test failure) if the scope takes longer than `seconds`.
class Watchdog {
 public:
  explicit Watchdog(unsigned seconds) { alarm(seconds); }
  ~Watchdog() { alarm(0); }
};
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr unsigned kWatchdog = 60;
#else
constexpr unsigned kWatchdog = 20;
#endif

void Pause(int ms) { usleep(static_cast<useconds_t>(ms) * 1000); }

void Spin(const std::atomic<bool> &flag) {
  while (!flag.load()) sched_yield();
}

sled_ops MakeOps(sled_func_t fn) {
  sled_ops o{};
  o.func = fn;
  return o;
}

void Nop(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {}

// ---- item 14: queries from a callback while another thread's grace period
// waits for that callback -----------------------------------------------------
struct QueryResults {
  int lookup = 1;
  std::string name;
  uintptr_t ip = 0;
  int stats = 1, walk = 1, set_strategy = 1;
  const char *strategy = nullptr;
  size_t count = 0;
};
std::atomic<bool> g_q_armed{false}, g_q_in_callback{false}, g_q_writer_started{false};
QueryResults g_q;

int CountSite(const sled_site_info *, void *) { return 0; }

void QueryCallback(uintptr_t ip, uintptr_t, sled_ops *, sled_regs *) {
  if (!g_q_armed.exchange(false)) return;
  g_q_in_callback = true;
  Spin(g_q_writer_started);
  Pause(50);  // the writer is now (very likely) waiting for this section
  sled_site_info info;
  g_q.lookup = sled_site_lookup(ip, &info);
  if (g_q.lookup == 0) {
    g_q.name = info.name;
    g_q.ip = info.ip;
  }
  sled_stats stats;
  g_q.stats = sled_get_stats(&stats);
  g_q.walk = sled_for_each_site(CountSite, nullptr);
  g_q.set_strategy = sled_set_strategy("list");
  g_q.strategy = sled_get_strategy();
  g_q.count = sled_site_count();
}

TEST(CallbackQueries, WorkOrRefuseWhileAnotherThreadWaitsForGrace) {
  Watchdog dog(kWatchdog);
  sled_ops a = MakeOps(QueryCallback), b = MakeOps(Nop);
  ASSERT_EQ(sled_set_filter(&a, "ra_f0", 1), 0);
  ASSERT_EQ(sled_set_filter(&b, "ra_f1", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  ASSERT_EQ(sled_register_ops(&b), 0);
  g_q_armed = true;
  std::thread worker([] { ra_f0(1); });
  Spin(g_q_in_callback);
  g_q_writer_started = true;
  // Waits for the worker's callback to finish: it must not wait for us.
  EXPECT_EQ(sled_unregister_ops(&b), 0);
  worker.join();
  EXPECT_EQ(g_q.lookup, 0);
  EXPECT_EQ(g_q.name, "ra_f0");
  EXPECT_EQ(g_q.ip, reinterpret_cast<uintptr_t>(&ra_f0));
  EXPECT_EQ(g_q.stats, -EDEADLK);
  EXPECT_EQ(g_q.walk, -EDEADLK);
  EXPECT_EQ(g_q.set_strategy, -EDEADLK);
  ASSERT_NE(g_q.strategy, nullptr);
  EXPECT_STREQ(g_q.strategy, "callops");
  EXPECT_EQ(g_q.count, sled_site_count());
  EXPECT_STREQ(sled_get_strategy(), "callops");
  EXPECT_EQ(sled_unregister_ops(&a), 0);
}

// ---- item 15: non-local exits from a callback --------------------------------
sigjmp_buf g_jump;
std::atomic<int> g_jump_calls{0};
std::atomic<bool> g_jump_armed{false};
std::atomic<bool> g_throw_armed{false};

void JumpCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  g_jump_calls++;
  if (g_jump_armed.exchange(false)) siglongjmp(g_jump, 1);
  if (g_throw_armed.exchange(false)) throw std::runtime_error("out of the callback");
}

// Calls ra_f2 a few frames deeper than the caller, over stack the callback's
// abandoned frame used to occupy.
__attribute__((noinline)) long Deeper(int n) {
  volatile char pad[512];
  memset(const_cast<char *>(pad), n, sizeof pad);
  long r = n > 0 ? Deeper(n - 1) : ra_f2(pad[3]);
  return r + pad[7];
}

TEST(NonLocalExit, LongjmpOutOfACallbackThenCallAgain) {
  Watchdog dog(kWatchdog);
  sled_ops a = MakeOps(JumpCallback);
  ASSERT_EQ(sled_set_filter(&a, "ra_f2", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  std::atomic<int> after_same{-1}, after_deeper{-1};
  std::thread worker([&] {
    g_jump_armed = true;
    if (sigsetjmp(g_jump, 1) == 0) {
      ra_f2(1);
      ADD_FAILURE() << "the callback did not jump";
    }
    // Same depth as the abandoned frame, then deeper than it.
    g_jump_calls = 0;
    ra_f2(2);
    after_same = g_jump_calls.load();
    g_jump_calls = 0;
    Deeper(4);
    after_deeper = g_jump_calls.load();
  });
  worker.join();
  EXPECT_EQ(after_same.load(), 1) << "the thread lost its callbacks after the longjmp";
  EXPECT_EQ(after_deeper.load(), 1);
  // The worker's record must not hold a grace period forever.
  EXPECT_EQ(sled_unregister_ops(&a), 0);
}

TEST(NonLocalExit, ExceptionThroughTheTrampoline) {
  Watchdog dog(kWatchdog);
  sled_ops a = MakeOps(JumpCallback);
  ASSERT_EQ(sled_set_filter(&a, "ra_f4", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  std::atomic<int> after{-1};
  std::atomic<bool> caught{false}, done{false}, go{false};
  std::thread worker([&] {
    g_throw_armed = true;
    try {
      ra_f4(1);
    } catch (const std::runtime_error &) {
      caught = true;
    }
    g_jump_calls = 0;
    ra_f4(2);
    after = g_jump_calls.load();
    done = true;
    Spin(go);  // idle while the test unregisters
  });
  Spin(done);
  EXPECT_TRUE(caught.load());
  EXPECT_EQ(after.load(), 1);
  EXPECT_EQ(sled_unregister_ops(&a), 0);
  go = true;
  worker.join();
}

// ---- item 16: fork from a callback while another thread unregisters ---------
std::atomic<bool> g_f_armed{false}, g_f_in_callback{false}, g_f_writer_started{false};
std::atomic<pid_t> g_f_child{0};

void ForkCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  if (!g_f_armed.exchange(false)) return;
  g_f_in_callback = true;
  Spin(g_f_writer_started);
  Pause(50);
  pid_t pid = fork();
  if (pid == 0) return;  // the child carries on as the worker
  g_f_child = pid;
}

TEST(Fork, FromACallbackWhileAnotherThreadUnregisters) {
  Watchdog dog(kWatchdog);
  sled_ops a = MakeOps(ForkCallback), b = MakeOps(Nop);
  ASSERT_EQ(sled_set_filter(&a, "ra_f5", 1), 0);
  ASSERT_EQ(sled_set_filter(&b, "ra_f1", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  ASSERT_EQ(sled_register_ops(&b), 0);
  pid_t parent = getpid();
  g_f_armed = true;
  std::thread worker([parent] {
    long v = ra_f5(1);
    if (getpid() == parent) return;
    // The child: its only thread. sled either works (the fork took the
    // lock) or refuses every change (forked while another thread held it).
    alarm(10);
    int code = v == 7 ? 0 : 1;
    sled_ops c = MakeOps(Nop);
    int rc = sled_register_ops(&c);
    if (rc == 0) rc = sled_unregister_ops(&c);
    if (rc != 0 && rc != -ENOTRECOVERABLE) code |= 2;
    if (ra_f1(1) != 3 || ra_f5(1) != 7) code |= 4;
    _exit(code);
  });
  Spin(g_f_in_callback);
  g_f_writer_started = true;
  EXPECT_EQ(sled_unregister_ops(&b), 0);
  worker.join();
  pid_t child = g_f_child.load();
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << "child status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(sled_unregister_ops(&a), 0);
}

// ---- item 18: a new ops at the address of a dead one ------------------------
std::atomic<int> g_r_calls{0};
void ReuseCallback(uintptr_t ip, uintptr_t, sled_ops *, sled_regs *) {
  if (ip == reinterpret_cast<uintptr_t>(&ra_f0)) g_r_calls++;
}

TEST(OpsReuse, NewOpsAtTheSameAddressStartsClean) {
  alignas(sled_ops) static unsigned char storage[sizeof(sled_ops)];
  auto *old_ops = new (storage) sled_ops{};
  old_ops->func = Nop;
  // A filter set, never registered; then the memory is reused.
  ASSERT_EQ(sled_set_filter(old_ops, "ra_f1", 1), 0);
  memset(storage, 0, sizeof storage);
  auto *fresh = new (storage) sled_ops{};
  fresh->func = ReuseCallback;
  ASSERT_EQ(sled_register_ops(fresh), 0);  // empty filter: every function
  g_r_calls = 0;
  ra_f0(1);
  EXPECT_EQ(g_r_calls.load(), 1) << "the new ops inherited the dead ops' filter";
  EXPECT_EQ(sled_unregister_ops(fresh), 0);
}

// ---- item 19: ops per function ----------------------------------------------
std::atomic<int> g_l_calls{0};
void LimitCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *) { g_l_calls++; }

TEST(OpsLimit, RefusedPastTheLimit) {
  Watchdog dog(kWatchdog * 3);
  std::vector<sled_ops> ops(SLED_MAX_OPS_PER_SITE + 1, MakeOps(LimitCallback));
  for (size_t i = 0; i < SLED_MAX_OPS_PER_SITE; i++) {
    ASSERT_EQ(sled_set_filter(&ops[i], "ra_f2", 1), 0);
    ASSERT_EQ(sled_register_ops(&ops[i]), 0) << i;
  }
  sled_ops &extra = ops.back();
  ASSERT_EQ(sled_set_filter(&extra, "ra_f2", 1), 0);
  EXPECT_EQ(sled_register_ops(&extra), -E2BIG);
  sled_site_info info;
  ASSERT_EQ(sled_site_lookup(reinterpret_cast<uintptr_t>(&ra_f2), &info), 0);
  EXPECT_EQ(info.nr_ops, unsigned{SLED_MAX_OPS_PER_SITE});
  g_l_calls = 0;
  ra_f2(1);
  EXPECT_EQ(g_l_calls.load(), SLED_MAX_OPS_PER_SITE);
  for (size_t i = 0; i < SLED_MAX_OPS_PER_SITE; i++) ASSERT_EQ(sled_unregister_ops(&ops[i]), 0);
  EXPECT_EQ(sled_unregister_ops(&extra), -ENOENT);
}

// ---- item 20: sled_regs_arg bounds; loads inside sled_for_each_site ---------
std::atomic<uintptr_t> g_a_far{1}, g_a_limit{1}, g_a_first{0};
void ArgCallback(uintptr_t, uintptr_t, sled_ops *, sled_regs *regs) {
  g_a_first = sled_regs_arg(regs, 0);
  g_a_limit = sled_regs_arg(regs, SLED_REGS_MAX_ARGS);
  g_a_far = sled_regs_arg(regs, 1u << 28);
}

TEST(RegsArg, PastTheLimitIsZero) {
  sled_ops a = MakeOps(ArgCallback);
  ASSERT_EQ(sled_set_filter(&a, "ra_f3", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  ra_f3(41);
  EXPECT_EQ(g_a_first.load(), 41u);
  EXPECT_EQ(g_a_limit.load(), 0u);
  EXPECT_EQ(g_a_far.load(), 0u);
  EXPECT_EQ(sled_unregister_ops(&a), 0);
}

struct WalkState {
  void *plug = nullptr;
  int seen_after_close = 0;
  bool closed = false;
  int sites = 0;
};

int CloseDuringWalk(const sled_site_info *info, void *arg) {
  auto *w = static_cast<WalkState *>(arg);
  if (w->closed) {
    w->seen_after_close++;
    // Reads what sled hands over: garbage (or ASan) if it walks freed tables.
    volatile size_t n = strlen(info->name) + strlen(info->module);
    (void)n;
    return 0;
  }
  w->sites++;
  if (strcmp(info->module, "librobust_api_plug.so") == 0) {
    dlclose(w->plug);
    w->closed = true;
    // And load it again: the module list grows while the walk runs.
    w->plug = dlopen(SLED_TEST_PLUG_LIBRARY, RTLD_NOW);
  }
  return 0;
}

TEST(ForEachSite, DlcloseAndDlopenInsideTheWalk) {
  WalkState w;
  w.plug = dlopen(SLED_TEST_PLUG_LIBRARY, RTLD_NOW);
  ASSERT_NE(w.plug, nullptr) << dlerror();
  size_t before = sled_site_count();  // picks the library up
  int rc = sled_for_each_site(CloseDuringWalk, &w);
  EXPECT_TRUE(w.closed);
  EXPECT_EQ(rc, -EAGAIN);
  EXPECT_EQ(w.seen_after_close, 0);
  ASSERT_NE(w.plug, nullptr);
  EXPECT_EQ(sled_site_count(), before);
  EXPECT_EQ(dlclose(w.plug), 0);
}

}  // namespace
