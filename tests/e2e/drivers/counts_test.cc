// counts_test.cc — a traced function called N times is seen exactly N times,
// with its own ip, its arguments (sled_regs_arg), the return address in its
// caller as parent_ip, and its return value unchanged: the trampoline keeps
// integer, xmm and %al (varargs) argument registers and the stack intact.
// Repeated under each dispatch strategy.
#include <gtest/gtest.h>

#include <cstring>

#include "fix_main.h"
#include "fix_shared.h"
#include "fixture_variant.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

// Target of a direct call (x86 `call rel32`, aarch64 `bl`) returning to
// return_address, or 0.
uintptr_t DirectCallTarget(uintptr_t return_address) { return CallTargetBefore(return_address); }

TEST(Counts, ExactCountsArgumentsAndReturnValues) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_add fix_mul"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  constexpr int kAdds = 1000, kMuls = 500;
  for (int i = 0; i < kAdds; i++) ASSERT_EQ(fix_add(i, 2), i + 2);
  for (int i = 0; i < kMuls; i++) ASSERT_EQ(fix_mul(i, 3), i * 3);
  EXPECT_EQ(tracer.Count(Addr(&fix_add)), size_t(kAdds));
  EXPECT_EQ(tracer.Count(Addr(&fix_mul)), size_t(kMuls));
  EXPECT_EQ(tracer.Total(), size_t(kAdds + kMuls));

  std::vector<Hit> hits = tracer.Hits();
  ASSERT_EQ(hits.size(), size_t(kAdds + kMuls));
  for (int i = 0; i < kAdds; i++) {
    ASSERT_EQ(hits[i].ip, Addr(&fix_add));
    ASSERT_EQ(hits[i].regs_ip, Addr(&fix_add));
    ASSERT_EQ(int(hits[i].args[0]), i);
    ASSERT_EQ(int(hits[i].args[1]), 2);
    ASSERT_EQ(hits[i].ops, tracer.ops());
  }
  for (int i = 0; i < kMuls; i++) {
    ASSERT_EQ(hits[kAdds + i].ip, Addr(&fix_mul));
    ASSERT_EQ(int(hits[kAdds + i].args[0]), i);
  }
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(fix_add(1, 2), 3);
  EXPECT_EQ(tracer.Total(), size_t(kAdds + kMuls));
}

TEST(Counts, SixIntegerArguments) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_args6"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_args6(-1, 2, 0x7fffffffffffL, 4, -5, 6),
            -1 + 4 + 3 * 0x7fffffffffffL + 16 - 25 + 36);
  ASSERT_EQ(tracer.Total(), 1u);
  Hit hit = tracer.Hits()[0];
  EXPECT_EQ(long(hit.args[0]), -1);
  EXPECT_EQ(long(hit.args[1]), 2);
  EXPECT_EQ(long(hit.args[2]), 0x7fffffffffffL);
  EXPECT_EQ(long(hit.args[3]), 4);
  EXPECT_EQ(long(hit.args[4]), -5);
  EXPECT_EQ(long(hit.args[5]), 6);
}

// Arguments past the argument registers are read from the stack, starting
// at the stack pointer the function was entered with (x86-64: just above
// the return address the call pushed).
TEST(Counts, StackArgumentsAreReadFromTheEntryStackPointer) {
  Tracer tracer;
  uintptr_t args[10] = {}, word_at_sp = 0, return_address = 0;
  // Read in a hook: only this function has ten arguments to read.
  tracer.SetHook([&](Tracer &, const Hit &, sled_regs *regs) {
    for (unsigned n = 0; n < 10; n++) args[n] = sled_regs_arg(regs, n);
    word_at_sp = *reinterpret_cast<const uintptr_t *>(sled_regs_stack_pointer(regs));
    return_address = sled_regs_return_address(regs);
  });
  ASSERT_EQ(tracer.SetFilter("fix_args10"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_args10(-1, 2, 3, 4, 5, 6, 70, -80, 900, 0x7fffffffffffL),
            -1 + 4 + 9 + 16 + 25 + 36 + 490 - 640 + 8100 + 10 * 0x7fffffffffffL);
  ASSERT_EQ(tracer.Total(), 1u);
  const long want[10] = {-1, 2, 3, 4, 5, 6, 70, -80, 900, 0x7fffffffffffL};
  for (unsigned n = 0; n < 10; n++) EXPECT_EQ(long(args[n]), want[n]) << "argument " << n;
#if defined(__x86_64__)
  EXPECT_EQ(word_at_sp, return_address);
#elif defined(__aarch64__)
  EXPECT_EQ(long(word_at_sp), 900);  // x0-x7 in registers, the 9th at sp
#endif
}

TEST(Counts, ParentIpIsTheReturnAddressInTheCaller) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_leaf_ra"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_leaf_ra(5), 5 ^ 0x5a5a);
  ASSERT_EQ(tracer.Total(), 1u);
  Hit hit = tracer.Hits()[0];
  EXPECT_EQ(hit.ip, Addr(&fix_leaf_ra));
  EXPECT_EQ(hit.parent_ip, fix_last_return_address);
  EXPECT_EQ(hit.regs_return, hit.parent_ip);
#if defined(__x86_64__)
  EXPECT_EQ(hit.word_at_sp, hit.parent_ip);  // the call pushed it: sp at entry holds it
#endif
  // This function called fix_leaf_ra directly: the call ends at parent_ip.
  EXPECT_EQ(DirectCallTarget(hit.parent_ip), Addr(&fix_leaf_ra));
}

TEST(Counts, ParentIpOfACallFromInstrumentedCode) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_outer(4), 10);
  ASSERT_EQ(tracer.Total(), 1u);
  Hit hit = tracer.Hits()[0];
  EXPECT_EQ(hit.ip, Addr(&fix_add));
  EXPECT_GT(hit.parent_ip, Addr(&fix_outer));
  EXPECT_LT(hit.parent_ip, Addr(&fix_outer) + 64);  // fix_outer is tiny
  EXPECT_EQ(DirectCallTarget(hit.parent_ip), Addr(&fix_add));
}

TEST(Counts, SharedLibraryFunctionCalledThroughPlt) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("sh_alpha sh_beta"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  for (int i = 0; i < 10; i++) ASSERT_EQ(sh_alpha(i), 7 * i);
  EXPECT_EQ(sh_beta(3, 4), 304);
  uintptr_t alpha = LibrarySymbol(kVariant.shared_library, "sh_alpha");
  uintptr_t beta = LibrarySymbol(kVariant.shared_library, "sh_beta");
  EXPECT_EQ(tracer.Count(alpha), 10u);
  EXPECT_EQ(tracer.Count(beta), 1u);
  EXPECT_EQ(tracer.Total(), 11u);
}

double MixedExpected(int a, double d0, long b, double d1, double d2, int c, double d3, double d4,
                     double d5, double d6, double d7) {
  return a * 1.0 + d0 * 2 + b * 3.0 + d1 * 5 + d2 * 7 + c * 11.0 + d3 * 13 + d4 * 17 + d5 * 19 +
         d6 * 23 + d7 * 29;
}

TEST(Counts, DoubleAndIntegerArgumentsReachTheBody) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_mixed"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  for (int i = 0; i < 20; i++) {
    double expected =
        MixedExpected(i, 0.5, -3L * i, 1.25, 2.5, 7, 3.75, -4.5, 5.125, 6.0625, i * 0.001);
    double got = fix_mixed(i, 0.5, -3L * i, 1.25, 2.5, 7, 3.75, -4.5, 5.125, 6.0625, i * 0.001);
    ASSERT_EQ(got, expected) << i;
  }
  ASSERT_EQ(tracer.Total(), 20u);
  Hit hit = tracer.Hits()[19];
  EXPECT_EQ(int(hit.args[0]), 19);
  EXPECT_EQ(long(hit.args[1]), -57);
  EXPECT_EQ(int(hit.args[2]), 7);
}

TEST(Counts, VarargsKeepAlAndStackArguments) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_vsum_*"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  // Eight doubles in xmm0-7, %al = 8.
  double d = fix_vsum_double(8, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5);
  EXPECT_EQ(d, 1.5 * 1 + 2.5 * 2 + 3.5 * 3 + 4.5 * 4 + 5.5 * 5 + 6.5 * 6 + 7.5 * 7 + 8.5 * 8);
  // Ten longs: five in registers after n, five on the stack.
  long l = fix_vsum_long(10, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
  EXPECT_EQ(l, 1L * 1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 5 + 6 * 6 + 7 * 7 + 8 * 8 + 9 * 9 + 10 * 10);
  EXPECT_EQ(tracer.Count(Addr(&fix_vsum_double)), 1u);
  EXPECT_EQ(tracer.Count(Addr(&fix_vsum_long)), 1u);
}

// The same exactness under every dispatch strategy, with two ops sharing a
// function and one of them tracing a second function alone.
class StrategyCounts : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override { ASSERT_EQ(sled_set_strategy(GetParam()), 0); }
  void TearDown() override { EXPECT_EQ(sled_set_strategy("callops"), 0); }
};

TEST_P(StrategyCounts, TwoOpsEachSeeEveryCallOnce) {
  EXPECT_STREQ(sled_get_strategy(), GetParam());
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_add"), 0);
  ASSERT_EQ(b.SetFilter("fix_add, fix_mul"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);
  for (int i = 0; i < 100; i++) ASSERT_EQ(fix_add(i, i), 2 * i);
  for (int i = 0; i < 50; i++) ASSERT_EQ(fix_mul(i, i), i * i);
  EXPECT_EQ(a.Count(Addr(&fix_add)), 100u);
  EXPECT_EQ(a.Total(), 100u);
  EXPECT_EQ(b.Count(Addr(&fix_add)), 100u);
  EXPECT_EQ(b.Count(Addr(&fix_mul)), 50u);
  EXPECT_EQ(b.Total(), 150u);
  for (const Hit &h : a.Hits()) ASSERT_EQ(h.ops, a.ops());
  for (const Hit &h : b.Hits()) ASSERT_EQ(h.ops, b.ops());
  EXPECT_EQ(a.Unregister(), 0);
  EXPECT_EQ(fix_add(1, 1), 2);
  EXPECT_EQ(a.Total(), 100u);
  EXPECT_EQ(b.Count(Addr(&fix_add)), 101u);
  EXPECT_EQ(b.Unregister(), 0);
}

TEST_P(StrategyCounts, ArgumentsAndReturnValuesPreserved) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_mixed fix_vsum_double fix_args6"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_mixed(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
            MixedExpected(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  EXPECT_EQ(fix_vsum_double(3, 1.0, 2.0, 4.0), 1.0 + 4.0 + 12.0);
  EXPECT_EQ(fix_args6(1, 1, 1, 1, 1, 1), 21);
  EXPECT_EQ(tracer.Total(), 3u);
  EXPECT_EQ(long(tracer.Hits()[2].args[5]), 1);
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, StrategyCounts,
                         ::testing::Values("callops", "list", "dyntramp"));

}  // namespace
}  // namespace sled_test
