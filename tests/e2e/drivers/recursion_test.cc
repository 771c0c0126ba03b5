// recursion_test.cc — the recursion guard: a callback that calls a traced
// function is not re-entered unless its ops has SLED_OPS_FL_RECURSION_SAFE;
// the guard covers every plain ops on the thread (a recursion-safe one still
// runs); nested traced calls outside callbacks are all seen; unregistering
// from a callback is -EDEADLK and changes nothing.
#include <gtest/gtest.h>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

TEST(Recursion, CallbackIsNotReenteredWithoutTheFlag) {
  Tracer tracer;
  int inner_results = 0, hooks = 0;
  tracer.SetHook([&](Tracer &, const Hit &, sled_regs *) {
    hooks++;
    inner_results += fix_add(20, 3);  // traced, but the callback is busy
  });
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  for (int i = 0; i < 10; i++) ASSERT_EQ(fix_add(i, 1), i + 1);
  EXPECT_EQ(hooks, 10);
  EXPECT_EQ(inner_results, 10 * 23);
  EXPECT_EQ(tracer.Count(Addr(&fix_add)), 10u);
  for (const Hit &h : tracer.Hits()) EXPECT_NE(int(h.args[0]), 20);
}

TEST(Recursion, CallbackIsReenteredWithTheFlag) {
  Tracer tracer(SLED_OPS_FL_RECURSION_SAFE);
  int depth = 0, max_depth = 0;
  tracer.SetHook([&](Tracer &, const Hit &, sled_regs *) {
    depth++;
    if (depth > max_depth) max_depth = depth;
    if (depth == 1) EXPECT_EQ(fix_add(20, 3), 23);  // re-enters once
    depth--;
  });
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  for (int i = 0; i < 10; i++) ASSERT_EQ(fix_add(i, 1), i + 1);
  EXPECT_EQ(tracer.Count(Addr(&fix_add)), 20u);
  EXPECT_EQ(max_depth, 2);
  int inner = 0;
  for (const Hit &h : tracer.Hits()) inner += int(h.args[0]) == 20;
  EXPECT_EQ(inner, 10);
}

TEST(Recursion, GuardCoversEveryPlainOpsOnTheThread) {
  // a's callback calls fix_mul. Like the kernel's per-context guard, sled
  // skips every plain ops while a callback runs on the thread, so b does not
  // see that call; the recursion-safe c does.
  Tracer a, b, c(SLED_OPS_FL_RECURSION_SAFE);
  a.SetHook([](Tracer &, const Hit &, sled_regs *) { fix_mul(5, 5); });
  ASSERT_EQ(a.SetFilter("fix_add"), 0);
  ASSERT_EQ(b.SetFilter("fix_mul"), 0);
  ASSERT_EQ(c.SetFilter("fix_mul"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);
  ASSERT_EQ(c.Register(), 0);
  for (int i = 0; i < 4; i++) ASSERT_EQ(fix_add(i, i), 2 * i);
  EXPECT_EQ(a.Total(), 4u);
  EXPECT_EQ(b.Total(), 0u);
  EXPECT_EQ(c.Count(Addr(&fix_mul)), 4u);
  // Outside a callback both see fix_mul.
  EXPECT_EQ(fix_mul(2, 3), 6);
  EXPECT_EQ(b.Total(), 1u);
  EXPECT_EQ(c.Total(), 5u);
}

TEST(Recursion, NestedTracedCallsOutsideCallbacksAreAllSeen) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_outer fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  for (int i = 0; i < 7; i++) ASSERT_EQ(fix_outer(i), 2 * (i + 1));
  EXPECT_EQ(tracer.Count(Addr(&fix_outer)), 7u);
  EXPECT_EQ(tracer.Count(Addr(&fix_add)), 7u);
}

TEST(Recursion, UnregisterFromACallbackIsEdeadlk) {
  Tracer tracer;
  int rc = 1;
  tracer.SetHook([&](Tracer &t, const Hit &, sled_regs *) { rc = sled_unregister_ops(t.ops()); });
  ASSERT_EQ(tracer.SetFilter("fix_mul"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_mul(3, 3), 9);
  EXPECT_EQ(rc, -EDEADLK);
  tracer.SetHook(nullptr);
  EXPECT_EQ(fix_mul(3, 4), 12);
  EXPECT_EQ(tracer.Count(Addr(&fix_mul)), 2u);  // still registered
  EXPECT_EQ(tracer.Unregister(), 0);
}

}  // namespace
}  // namespace sled_test
