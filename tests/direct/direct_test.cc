// direct_test.cc — direct calls (sled_ops_set_direct): a site traced by a
// direct ops alone calls its trampoline itself; one shared with an ordinary
// ops calls sled's direct-list trampoline, which runs the callback and then
// continues into the direct trampoline. Exact counts for both, under every
// strategy and across live strategy switches; the trampoline's page
// unmapped right after unregister while other threads call (a thread left
// inside would fault); no writable+executable mapping; argument registers
// preserved; API misuse refused.
#include <gtest/gtest.h>
#include <sched.h>
#include <sled/sled.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "direct_tramp.h"

extern "C" {
long dt_alone(long);
long dt_shared(long);
double dt_args(long, long, long, long, long, long, double, double);
}

namespace {

struct Watchdog {
  explicit Watchdog(unsigned s) { alarm(s); }
  ~Watchdog() { alarm(0); }
};

const char *const kStrategies[] = {"callops", "list", "dyntramp"};

std::atomic<uint64_t> g_callbacks{0};
void count_cb(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  g_callbacks.fetch_add(1, std::memory_order_relaxed);
}

uint64_t load(const uint64_t &c) { return __atomic_load_n(&c, __ATOMIC_RELAXED); }

// A counting trampoline in its own page (examples/direct_tramp.c).
struct Tramp {
  uint64_t count = 0;
  size_t size = 0;
  void *code = nullptr;
  Tramp() { code = sled_example_direct_make(&count, &size); }
  ~Tramp() {
    if (code) sled_example_direct_free(code);
  }
};

sled_site_info site_of(long (*fn)(long)) {
  sled_site_info info{};
  EXPECT_EQ(sled_site_lookup(reinterpret_cast<uintptr_t>(fn), &info), 0);
  return info;
}

// ops made a direct ops on t's trampoline, traced where `filter` says.
void make_direct(sled_ops *ops, const Tramp &t, const char *filter) {
  ASSERT_NE(t.code, nullptr);
  ASSERT_EQ(sled_ops_set_direct(ops, t.code, t.size), 0);
  ASSERT_EQ(sled_set_filter(ops, filter, 1), 0);
}

// ops made an ordinary ops counting into g_callbacks where `filter` says.
void make_counting(sled_ops *ops, const char *filter) {
  ops->func = count_cb;
  ASSERT_EQ(sled_set_filter(ops, filter, 1), 0);
}

struct StrategyScope {
  explicit StrategyScope(const char *name) { EXPECT_EQ(sled_set_strategy(name), 0) << name; }
  ~StrategyScope() { EXPECT_EQ(sled_set_strategy("callops"), 0); }
};

TEST(Direct, AloneExactCountsUnderEveryStrategy) {
  Watchdog dog(60);
  for (const char *strategy : kStrategies) {
    SCOPED_TRACE(strategy);
    StrategyScope scope(strategy);
    Tramp t;
    sled_ops ops{};
    ASSERT_NO_FATAL_FAILURE(make_direct(&ops, t, "dt_alone"));
    ASSERT_EQ(sled_register_ops(&ops), 0) << sled_last_error();
    sled_site_info info = site_of(dt_alone);
    EXPECT_EQ(info.dispatch, SLED_DISPATCH_TRAMP);
    EXPECT_EQ(info.nr_ops, 1u);
    EXPECT_TRUE(info.enabled);
    long x = 0;
    for (int i = 0; i < 1000; i++) x = dt_alone(x);
    EXPECT_EQ(x, 1000);
    EXPECT_EQ(load(t.count), 1000u);
    ASSERT_EQ(sled_unregister_ops(&ops), 0);
    EXPECT_FALSE(site_of(dt_alone).enabled);
    for (int i = 0; i < 100; i++) x = dt_alone(x);
    EXPECT_EQ(load(t.count), 1000u) << "called after unregister";
  }
}

TEST(Direct, SecondOpsJoinsAndLeavesWithExactCounts) {
  Watchdog dog(60);
  for (const char *strategy : kStrategies) {
    SCOPED_TRACE(strategy);
    StrategyScope scope(strategy);
    Tramp t;
    sled_ops direct{}, other{};
    ASSERT_NO_FATAL_FAILURE(make_direct(&direct, t, "dt_shared"));
    ASSERT_NO_FATAL_FAILURE(make_counting(&other, "dt_shared"));
    ASSERT_EQ(sled_register_ops(&direct), 0) << sled_last_error();
    g_callbacks = 0;
    long x = 1;
    for (int i = 0; i < 500; i++) x = dt_shared(x) & 0xffff;
    EXPECT_EQ(load(t.count), 500u);
    ASSERT_EQ(sled_register_ops(&other), 0) << sled_last_error();
    sled_site_info info = site_of(dt_shared);
    EXPECT_EQ(info.dispatch, SLED_DISPATCH_TRAMP);
    EXPECT_EQ(info.nr_ops, 2u);
    for (int i = 0; i < 700; i++) x = dt_shared(x) & 0xffff;
    EXPECT_EQ(load(t.count), 1200u);
    EXPECT_EQ(g_callbacks.load(), 700u);
    ASSERT_EQ(sled_unregister_ops(&other), 0);
    EXPECT_EQ(site_of(dt_shared).nr_ops, 1u);
    for (int i = 0; i < 300; i++) x = dt_shared(x) & 0xffff;
    EXPECT_EQ(load(t.count), 1500u);
    EXPECT_EQ(g_callbacks.load(), 700u);
    // The ordinary ops first, then the direct one joins it, then leaves.
    ASSERT_EQ(sled_unregister_ops(&direct), 0);
    ASSERT_EQ(sled_register_ops(&other), 0);
    ASSERT_EQ(sled_register_ops(&direct), 0);
    for (int i = 0; i < 200; i++) x = dt_shared(x) & 0xffff;
    ASSERT_EQ(sled_unregister_ops(&direct), 0);
    for (int i = 0; i < 100; i++) x = dt_shared(x) & 0xffff;
    EXPECT_EQ(load(t.count), 1700u);
    EXPECT_EQ(g_callbacks.load(), 1000u);
    ASSERT_EQ(sled_unregister_ops(&other), 0);
  }
}

TEST(Direct, AloneSiteCallsTheTrampolineItselfWhenInReach) {
  // The trampoline as assembled, in this executable: within a call's reach,
  // so the site's call names it (its counter slot is 0: it counts nothing).
  sled_ops ops{};
  auto tramp = reinterpret_cast<uintptr_t>(&sled_example_direct_tramp);
  auto end = reinterpret_cast<uintptr_t>(sled_example_direct_tramp_end);
  ASSERT_EQ(sled_ops_set_direct(&ops, reinterpret_cast<void *>(tramp), end - tramp + 8), 0);
  ASSERT_EQ(sled_set_filter(&ops, "dt_alone", 1), 0);
  ASSERT_EQ(sled_register_ops(&ops), 0);
  auto entry = reinterpret_cast<uintptr_t>(&dt_alone);
  uintptr_t target = 0;
#if defined(__x86_64__)
  const auto *p = reinterpret_cast<const uint8_t *>(entry);
  if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) p += 4;  // endbr64
  ASSERT_EQ(p[0], 0xe8);
  int32_t rel;
  std::memcpy(&rel, p + 1, 4);
  target = reinterpret_cast<uintptr_t>(p) + 5 + rel;
#else
  const auto *w = reinterpret_cast<const uint32_t *>(entry);
  if (w[0] == 0xd503245f) w++;  // bti c
  uint32_t bl = w[1];           // after mov x9, x30
  ASSERT_EQ(bl >> 26, 0x25u);
  int64_t off = static_cast<int64_t>(static_cast<int32_t>(bl << 6) >> 6) * 4;
  target = reinterpret_cast<uintptr_t>(&w[1]) + off;
#endif
  EXPECT_EQ(target, tramp);
  EXPECT_EQ(dt_alone(41), 42);
  ASSERT_EQ(sled_unregister_ops(&ops), 0);
}

TEST(Direct, ArgumentRegistersPreserved) {
  Tramp t;
  sled_ops direct{}, other{};
  ASSERT_NO_FATAL_FAILURE(make_direct(&direct, t, "dt_args"));
  ASSERT_NO_FATAL_FAILURE(make_counting(&other, "dt_args"));
  double want = dt_args(1, 2, 3, 4, 5, 6, 1.5, 4.0);
  ASSERT_EQ(sled_register_ops(&direct), 0);
  EXPECT_EQ(dt_args(1, 2, 3, 4, 5, 6, 1.5, 4.0), want) << "alone";
  ASSERT_EQ(sled_register_ops(&other), 0);
  EXPECT_EQ(dt_args(1, 2, 3, 4, 5, 6, 1.5, 4.0), want) << "shared";
  EXPECT_EQ(load(t.count), 2u);
  ASSERT_EQ(sled_unregister_ops(&other), 0);
  ASSERT_EQ(sled_unregister_ops(&direct), 0);
}

// Threads call both functions flat out while the strategy changes under
// them: direct sites keep their calls (the same under every strategy), so
// every call is counted exactly once.
TEST(Direct, StrategySwitchWhileRunningKeepsCountsExact) {
  Watchdog dog(120);
  Tramp ta, ts;
  sled_ops alone{}, shared{}, other{};
  ASSERT_NO_FATAL_FAILURE(make_direct(&alone, ta, "dt_alone"));
  ASSERT_NO_FATAL_FAILURE(make_direct(&shared, ts, "dt_shared"));
  ASSERT_NO_FATAL_FAILURE(make_counting(&other, "dt_shared"));
  ASSERT_EQ(sled_register_ops(&alone), 0);
  ASSERT_EQ(sled_register_ops(&shared), 0);
  ASSERT_EQ(sled_register_ops(&other), 0);
  g_callbacks = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; i++)
    threads.emplace_back([&] {
      long x = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        x = dt_alone(x);
        x = dt_shared(x) & 0xffff;
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  auto progress = [&] {  // the threads run between two switches
    uint64_t from = calls.load();
    while (calls.load() < from + 200) sched_yield();
  };
  for (int round = 0; round < 6; round++) {
    progress();
    ASSERT_EQ(sled_set_strategy(kStrategies[round % 3]), 0) << sled_last_error();
  }
  progress();
  ASSERT_EQ(sled_set_strategy("callops"), 0);
  stop = true;
  for (auto &t : threads) t.join();
  EXPECT_GT(calls.load(), 0u);
  EXPECT_EQ(load(ta.count), calls.load());
  EXPECT_EQ(load(ts.count), calls.load());
  EXPECT_EQ(g_callbacks.load(), calls.load());
  ASSERT_EQ(sled_unregister_ops(&other), 0);
  ASSERT_EQ(sled_unregister_ops(&shared), 0);
  ASSERT_EQ(sled_unregister_ops(&alone), 0);
}

// The grace period: unregister returns only when no thread is inside the
// trampoline, so its page can be unmapped at once. A thread still inside
// (or calling it) would fault on the unmapped page.
TEST(Direct, TrampolineUnmappedAfterUnregisterWhileThreadsCall) {
  Watchdog dog(240);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; i++)
    threads.emplace_back([&, i] {
      long x = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        x = dt_alone(x);
        x = dt_shared(x) & 0xffff;
        if (i == 2) usleep(10);  // one thread in and out of the kernel
      }
    });
  sled_ops other{};
  ASSERT_NO_FATAL_FAILURE(make_counting(&other, "dt_shared"));
  ASSERT_EQ(sled_register_ops(&other), 0);
  for (int round = 0; round < 30; round++) {
    auto *t = new Tramp();
    sled_ops ops{};
    ASSERT_NO_FATAL_FAILURE(make_direct(&ops, *t, "dt_alone dt_shared"));
    ASSERT_EQ(sled_register_ops(&ops), 0) << sled_last_error();
    while (load(t->count) < 50) sched_yield();
    ASSERT_EQ(sled_unregister_ops(&ops), 0);
    uint64_t after = load(t->count);
    delete t;  // munmap: a thread left inside would fault
    (void)after;
  }
  stop = true;
  for (auto &th : threads) th.join();
  ASSERT_EQ(sled_unregister_ops(&other), 0);
}

// No mapping of the process is writable and executable at once, while
// direct ops come and go (sled's near stubs included).
bool has_wx_mapping(std::string *which) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (fgets(line, sizeof line, f)) {
    char perms[8] = {};
    if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
      *which = line;
      found = true;
    }
  }
  fclose(f);
  return found;
}

TEST(Direct, NoWritableExecutableMapping) {
  std::string which;
  Tramp t;
  sled_ops direct{}, other{};
  ASSERT_NO_FATAL_FAILURE(make_direct(&direct, t, "dt_alone dt_shared"));
  ASSERT_NO_FATAL_FAILURE(make_counting(&other, "dt_shared"));
  ASSERT_EQ(sled_register_ops(&direct), 0);
  EXPECT_FALSE(has_wx_mapping(&which)) << which;
  ASSERT_EQ(sled_register_ops(&other), 0);
  EXPECT_FALSE(has_wx_mapping(&which)) << which;
  EXPECT_EQ(dt_alone(1), 2);
  ASSERT_EQ(sled_unregister_ops(&other), 0);
  ASSERT_EQ(sled_unregister_ops(&direct), 0);
  EXPECT_FALSE(has_wx_mapping(&which)) << which;
}

TEST(Direct, MisuseRefused) {
  Tramp t1, t2;
  ASSERT_NE(t1.code, nullptr);
  sled_ops a{}, b{}, plain{};
  EXPECT_EQ(sled_ops_set_direct(nullptr, t1.code, t1.size), -EINVAL);
  EXPECT_EQ(sled_ops_set_direct(&a, t1.code, 0), -EINVAL);
  EXPECT_EQ(sled_ops_set_direct(&a, nullptr, 16), -EINVAL);
  EXPECT_EQ(sled_register_ops(&plain), -EINVAL) << "no func, no direct trampoline";
  ASSERT_EQ(sled_ops_set_direct(&a, t1.code, t1.size), 0);
  ASSERT_EQ(sled_ops_set_direct(&b, t2.code, t2.size), 0);
  ASSERT_EQ(sled_set_filter(&a, "dt_alone", 1), 0);
  ASSERT_EQ(sled_set_filter(&b, "dt_alone", 1), 0);
  ASSERT_EQ(sled_register_ops(&a), 0);
  EXPECT_EQ(sled_ops_set_direct(&a, t2.code, t2.size), -EBUSY) << "while registered";
  EXPECT_EQ(sled_register_ops(&b), -EBUSY) << "two direct ops on one function";
  EXPECT_EQ(sled_unregister_ops_async(&a, nullptr, nullptr), -EOPNOTSUPP);
  EXPECT_EQ(dt_alone(1), 2);
  EXPECT_EQ(load(t1.count), 1u);
  EXPECT_EQ(load(t2.count), 0u);
  ASSERT_EQ(sled_unregister_ops(&a), 0);
  // Back to an ordinary ops: needs a func.
  ASSERT_EQ(sled_ops_set_direct(&a, nullptr, 0), 0);
  EXPECT_EQ(sled_register_ops(&a), -EINVAL);
}

}  // namespace
