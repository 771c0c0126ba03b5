// async_test.cc — sled_unregister_ops_async: returns while a callback is
// still running elsewhere, calls `done` only after that callback is over
// (and never again runs it), batches many unregisters under load, refuses
// a re-register before `done`, and lets `done` call sled.
#include <gtest/gtest.h>
#include <sched.h>
#include <sled/sled.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>
#include <vector>

extern "C" {
long as_work(long);
long as_other(long);
}

namespace {

struct Watchdog {
  explicit Watchdog(unsigned s) { alarm(s); }
  ~Watchdog() { alarm(0); }
};

bool wait_for(const std::atomic<int> &v, int want, int ms) {
  for (int i = 0; i < ms && v.load() != want; i++) usleep(1000);
  return v.load() == want;
}

std::atomic<int> g_in_callback{0}, g_release{0}, g_calls{0}, g_done{0};

void blocking_cb(uintptr_t, uintptr_t, sled_ops *, sled_regs *) {
  g_calls++;
  g_in_callback.store(1);
  while (g_release.load() == 0) sched_yield();
}

TEST(UnregisterAsync, DoneWaitsForTheCallbackRunningElsewhere) {
  Watchdog dog(60);
  sled_ops ops{};
  ops.func = blocking_cb;
  ASSERT_EQ(sled_set_filter(&ops, "as_work", 1), 0);
  ASSERT_EQ(sled_register_ops(&ops), 0);
  std::thread t([] { as_work(1); });
  ASSERT_TRUE(wait_for(g_in_callback, 1, 20000));
  ASSERT_EQ(sled_unregister_ops_async(
                &ops, [](sled_ops *, void *arg) { static_cast<std::atomic<int> *>(arg)->store(1); },
                &g_done),
            0);
  // The callback is still running on t: done must wait.
  usleep(100 * 1000);
  EXPECT_EQ(g_done.load(), 0);
  EXPECT_EQ(sled_register_ops(&ops), -EBUSY) << "re-register before done";
  g_release.store(1);
  t.join();
  EXPECT_TRUE(wait_for(g_done, 1, 20000));
  int before = g_calls.load();
  as_work(2);
  EXPECT_EQ(g_calls.load(), before) << "callback ran after unregister";
  EXPECT_EQ(sled_unregister_ops_async(&ops, nullptr, nullptr), -ENOENT);
  EXPECT_EQ(sled_unregister_ops_async(nullptr, nullptr, nullptr), -EINVAL);
}

std::atomic<int> g_count_cb{0};
void counting_cb(uintptr_t, uintptr_t, sled_ops *, sled_regs *) { g_count_cb++; }

TEST(UnregisterAsync, ThousandOpsUnderLoadAllComplete) {
  Watchdog dog(120);
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; i++)
    busy.emplace_back([&] {
      long x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = as_work(x) & 1023;
    });
  constexpr int kOps = 1000;
  auto ops = std::make_unique<sled_ops[]>(kOps);
  std::atomic<int> done{0};
  for (int i = 0; i < kOps; i++) {
    ops[i] = sled_ops{};
    ops[i].func = counting_cb;
    ASSERT_EQ(sled_set_filter(&ops[i], i % 2 ? "as_work" : "as_other", 1), 0);
    ASSERT_EQ(sled_register_ops(&ops[i]), 0);
    ASSERT_EQ(sled_unregister_ops_async(
                  &ops[i],
                  [](sled_ops *, void *arg) { static_cast<std::atomic<int> *>(arg)->fetch_add(1); },
                  &done),
              0);
  }
  EXPECT_TRUE(wait_for(done, kOps, 60000)) << done.load();
  stop.store(true);
  for (auto &t : busy) t.join();
  sled_site_info info{};
  ASSERT_EQ(sled_site_lookup(reinterpret_cast<uintptr_t>(&as_work), &info), 0);
  EXPECT_EQ(info.nr_ops, 0u);
  EXPECT_EQ(info.enabled, 0);
}

sled_ops g_again{};
std::atomic<int> g_again_state{0};
TEST(UnregisterAsync, DoneMayCallSled) {
  Watchdog dog(60);
  g_again.func = counting_cb;
  ASSERT_EQ(sled_set_filter(&g_again, "as_other", 1), 0);
  ASSERT_EQ(sled_register_ops(&g_again), 0);
  ASSERT_EQ(sled_unregister_ops_async(
                &g_again,
                [](sled_ops *o, void *) {
                  // Re-register from the reclaim thread, then unregister again.
                  g_again_state.store(sled_register_ops(o) == 0 ? 1 : -1);
                },
                nullptr),
            0);
  ASSERT_TRUE(wait_for(g_again_state, 1, 20000)) << g_again_state.load();
  int before = g_count_cb.load();
  as_other(1);
  EXPECT_EQ(g_count_cb.load(), before + 1);
  EXPECT_EQ(sled_unregister_ops(&g_again), 0);
}

}  // namespace
