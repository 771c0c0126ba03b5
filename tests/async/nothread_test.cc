// nothread_test.cc — sled_unregister_ops_async when no thread can be
// created (a process at its thread limit): pthread_create is interposed
// here to fail with EAGAIN, and the unregister must then wait for the grace
// period itself and call `done` on the calling thread before returning,
// rather than leave the callback waiting for a thread that never comes.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sled/sled.h>

#include <atomic>
#include <cerrno>

extern "C" long as_work(long);

namespace {
std::atomic<bool> g_refuse_threads{false};
}

// Interposes libc's pthread_create for libsled (and everything else in this
// process): refuses while g_refuse_threads is set.
extern "C" int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                              void *arg) {
  using Real = int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "pthread_create"));
  if (g_refuse_threads.load() || !real) return EAGAIN;
  return real(th, attr, fn, arg);
}

namespace {
int g_calls = 0;
void counting_cb(uintptr_t, uintptr_t, sled_ops *, sled_regs *) { g_calls++; }

TEST(UnregisterAsyncNoThread, DoneRunsOnTheCallerBeforeReturning) {
  sled_ops ops{};
  ops.func = counting_cb;
  ASSERT_EQ(sled_set_filter(&ops, "as_work", 1), 0);
  ASSERT_EQ(sled_register_ops(&ops), 0);
  as_work(1);
  EXPECT_EQ(g_calls, 1);
  g_refuse_threads.store(true);
  struct Seen {
    pthread_t thread;
    int calls = 0;
  } seen;
  ASSERT_EQ(sled_unregister_ops_async(
                &ops,
                [](sled_ops *, void *arg) {
                  auto *s = static_cast<Seen *>(arg);
                  s->thread = pthread_self();
                  s->calls++;
                },
                &seen),
            0);
  EXPECT_EQ(seen.calls, 1) << "done did not run before the unregister returned";
  EXPECT_TRUE(seen.calls == 1 && pthread_equal(seen.thread, pthread_self()));
  as_work(2);
  EXPECT_EQ(g_calls, 1) << "callback ran after unregister";
  // Registering again is allowed once done has run.
  EXPECT_EQ(sled_register_ops(&ops), 0);
  EXPECT_EQ(sled_unregister_ops(&ops), 0);
  g_refuse_threads.store(false);
}
}  // namespace
