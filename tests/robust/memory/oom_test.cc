// oom_test.cc — issue 8 item 21: out of memory never aborts the program,
// never leaves sled's lock held, and never leaves an operation half-done.
// For each operation, the Nth allocation it makes fails, for N = 1, 2, ...
// until it runs without a failure (alloc_fail.h): every try must return 0
// or -ENOMEM, another thread's sled call must then proceed (the lock is
// free), and the functions must be traced exactly as before the call (when
// it failed) or as it asked (when it succeeded). Under each strategy.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sled/sled.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "alloc_fail.h"

extern "C" int memfix_add(int a, int b);
extern "C" int memfix_mul(int a, int b);
extern "C" int memfix_sum(int n);

namespace {

// Calls of memfix_add, memfix_mul, memfix_sum an ops saw.
using Counts = std::array<unsigned, 3>;
constexpr Counts kNone{0, 0, 0};
constexpr Counts kAdd{4, 0, 0};
constexpr Counts kMul{0, 4, 0};
constexpr Counts kAddMul{4, 4, 0};
constexpr Counts kAll{4, 4, 1};

struct Client {
  sled_ops ops{};
  std::array<std::atomic<unsigned>, 3> seen{};
  Client() {
    ops.func = Callback;
    ops.private_data = this;
  }
  static void Callback(uintptr_t ip, uintptr_t, sled_ops *ops, sled_regs *) {
    auto *c = static_cast<Client *>(ops->private_data);
    if (ip == reinterpret_cast<uintptr_t>(&memfix_add)) c->seen[0]++;
    if (ip == reinterpret_cast<uintptr_t>(&memfix_mul)) c->seen[1]++;
    if (ip == reinterpret_cast<uintptr_t>(&memfix_sum)) c->seen[2]++;
  }
};

// What a and b see of one memfix_sum(4).
std::pair<Counts, Counts> Observe(Client &a, Client &b) {
  for (auto *c : {&a, &b})
    for (auto &n : c->seen) n = 0;
  EXPECT_EQ(memfix_sum(4), 12);
  Counts ca{a.seen[0], a.seen[1], a.seen[2]}, cb{b.seen[0], b.seen[1], b.seen[2]};
  return {ca, cb};
}

// Another thread's call proceeds: the lock is free. (A held lock hangs it,
// and the test's timeout reports that.)
void ExpectLockFree() {
  int rc = -1;
  std::thread t([&] {
    sled_stats st;
    rc = sled_get_stats(&st);
  });
  t.join();
  EXPECT_EQ(rc, 0);
}

struct Case {
  std::function<void()> reset;  // the state before the operation (no failures)
  std::function<int()> op;
  std::pair<Counts, Counts> before, after;  // (a, b) counts
  std::function<void(bool succeeded)> check = [](bool) {};
};

class Oom : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override { ASSERT_EQ(sled_set_strategy(GetParam()), 0) << sled_last_error(); }
  void TearDown() override {
    sled_unregister_ops(&a_.ops);
    sled_unregister_ops(&b_.ops);
    EXPECT_EQ(sled_set_strategy("callops"), 0);
  }

  void Run(const Case &c) {
    long n = 1;
    for (; n < 10000; n++) {
      c.reset();
      ASSERT_EQ(Observe(a_, b_), c.before) << "reset, try " << n;
      alloc_fail::arm(n);
      int rc = c.op();
      bool failed = alloc_fail::disarm();
      std::string err = sled_last_error();
      ASSERT_TRUE(rc == 0 || rc == -ENOMEM) << "try " << n << ": " << rc << " " << err;
      ExpectLockFree();
      ASSERT_EQ(Observe(a_, b_), rc == 0 ? c.after : c.before)
          << "allocation " << n << " failed: rc " << rc << " (" << err << ")";
      c.check(rc == 0);
      if (!failed) break;
    }
    EXPECT_GT(n, 1) << "the operation allocated nothing: the test tested nothing";
    RecordProperty("allocations", static_cast<int>(n - 1));
  }

  Client a_, b_;
};

TEST_P(Oom, SetFilter) {
  Run({[&] {
         sled_unregister_ops(&a_.ops);
         ASSERT_EQ(sled_set_filter(&a_.ops, "memfix_mul", 1), 0);
         ASSERT_EQ(sled_register_ops(&a_.ops), 0);
       },
       [&] { return sled_set_filter(&a_.ops, "memfix_add memfix_mul", 1); },
       {kMul, kNone},
       {kAddMul, kNone}});
}

TEST_P(Oom, SetNotrace) {
  Run({[&] {
         sled_unregister_ops(&a_.ops);
         ASSERT_EQ(sled_set_filter(&a_.ops, "memfix_*", 1), 0);
         ASSERT_EQ(sled_set_notrace(&a_.ops, "", 1), 0);
         ASSERT_EQ(sled_register_ops(&a_.ops), 0);
       },
       [&] { return sled_set_notrace(&a_.ops, "memfix_sum memfix_mul", 1); },
       {kAll, kNone},
       {kAdd, kNone}});
}

TEST_P(Oom, Register) {
  // b shares memfix_mul with a: a list ops for that site.
  Run({[&] {
         sled_unregister_ops(&b_.ops);
         if (sled_unregister_ops(&a_.ops) != 0) {
         }
         ASSERT_EQ(sled_set_filter(&a_.ops, "memfix_mul", 1), 0);
         ASSERT_EQ(sled_register_ops(&a_.ops), 0);
         ASSERT_EQ(sled_set_filter(&b_.ops, "memfix_add memfix_mul", 1), 0);
       },
       [&] { return sled_register_ops(&b_.ops); },
       {kMul, kNone},
       {kMul, kAddMul},
       [&](bool ok) {
         // Nothing half-done: a failed register leaves b unregistered.
         if (!ok) EXPECT_EQ(sled_unregister_ops(&b_.ops), -ENOENT);
       }});
}

TEST_P(Oom, Unregister) {
  Run({[&] {
         sled_unregister_ops(&a_.ops);
         sled_unregister_ops(&b_.ops);
         ASSERT_EQ(sled_set_filter(&a_.ops, "memfix_mul", 1), 0);
         ASSERT_EQ(sled_register_ops(&a_.ops), 0);
         ASSERT_EQ(sled_set_filter(&b_.ops, "memfix_*", 1), 0);
         ASSERT_EQ(sled_register_ops(&b_.ops), 0);
       },
       [&] { return sled_unregister_ops(&b_.ops); },
       {kMul, kAll},
       {kMul, kNone},
       [&](bool ok) {
         if (!ok) EXPECT_EQ(sled_register_ops(&b_.ops), -EEXIST);  // still registered
       }});
}

TEST_P(Oom, SetStrategy) {
  const char *other = strcmp(GetParam(), "list") == 0 ? "dyntramp" : "list";
  Run({[&] {
         sled_unregister_ops(&a_.ops);
         sled_unregister_ops(&b_.ops);
         ASSERT_EQ(sled_set_strategy(GetParam()), 0);
         ASSERT_EQ(sled_set_filter(&a_.ops, "memfix_mul", 1), 0);
         ASSERT_EQ(sled_register_ops(&a_.ops), 0);
         ASSERT_EQ(sled_set_filter(&b_.ops, "memfix_*", 1), 0);
         ASSERT_EQ(sled_register_ops(&b_.ops), 0);
       },
       [&] { return sled_set_strategy(other); },
       {kMul, kAll},
       {kMul, kAll},
       [&](bool ok) { EXPECT_STREQ(sled_get_strategy(), ok ? other : GetParam()); }});
}

// A library dlopen'ed while sled's allocations fail still joins: at the
// latest at the next sled call, its sites get the registered ops' filter.
// And the loader's lock is never left held (another thread's dlopen runs).
TEST_P(Oom, DlopenJoinsLater) {
  ASSERT_EQ(sled_set_filter(&a_.ops, "memfix_add@libmemfix.so", 1), -ENOENT);  // not loaded yet
  ASSERT_EQ(sled_set_filter(&b_.ops, "", 1), 0);
  ASSERT_EQ(sled_register_ops(&b_.ops), 0);  // every site, the library's included
  long n = 1;
  for (; n < 10000; n++) {
    alloc_fail::arm(n);
    void *lib = dlopen(MEMFIX_DL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    bool failed = alloc_fail::disarm();
    if (lib) {
      auto add = reinterpret_cast<int (*)(int, int)>(dlsym(lib, "memfix_add"));
      ASSERT_NE(add, nullptr);
      // Another thread: the loader's lock and sled's are free, and its sled
      // call brings the module in if the dlopen hook could not.
      std::thread t([] {
        void *again = dlopen(MEMFIX_DL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
        EXPECT_NE(again, nullptr);
        sled_stats st;
        EXPECT_EQ(sled_get_stats(&st), 0);
        if (again) dlclose(again);
      });
      t.join();
      sled_site_info info;
      ASSERT_EQ(sled_site_lookup(reinterpret_cast<uintptr_t>(add), &info), 0) << "try " << n;
      EXPECT_EQ(add(1, 2), 3);
      EXPECT_EQ(info.nr_ops, 1u) << "try " << n << ": the library's sites lack b; last error: "
                                 << sled_last_error();
      EXPECT_EQ(dlclose(lib), 0);
    }
    if (!failed) break;
  }
  EXPECT_GT(n, 1);
  RecordProperty("allocations", static_cast<int>(n - 1));
}

INSTANTIATE_TEST_SUITE_P(Strategies, Oom, ::testing::Values("callops", "list", "dyntramp"));

}  // namespace
