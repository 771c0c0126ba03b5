// ipmodify_test.cc — SLED_OPS_FL_IPMODIFY: a callback redirects a call with
// sled_regs_set_ip; at most one such ops per function (-EBUSY); an ops
// without the flag cannot redirect.
#include <gtest/gtest.h>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

TEST(IpModify, RedirectsTheCall) {
  Tracer tracer(SLED_OPS_FL_IPMODIFY);
  int rc = 1;
  tracer.SetHook([&](Tracer &, const Hit &, sled_regs *regs) {
    rc = sled_regs_set_ip(regs, Addr(&fix_add_alt));
  });
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_add(1, 2), 1003);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(tracer.Count(Addr(&fix_add)), 1u);
  ASSERT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(fix_add(1, 2), 3);
}

TEST(IpModify, SecondIpModifyOpsOnAFunctionIsEbusy) {
  Tracer first(SLED_OPS_FL_IPMODIFY), second(SLED_OPS_FL_IPMODIFY);
  ASSERT_EQ(first.SetFilter("fix_add"), 0);
  ASSERT_EQ(first.Register(), 0);
  ASSERT_EQ(second.SetFilter("fix_add"), 0);
  EXPECT_EQ(second.Register(), -EBUSY);

  ASSERT_EQ(second.SetFilter("fix_mul"), 0);
  ASSERT_EQ(second.Register(), 0);
  EXPECT_EQ(second.SetFilter("fix_add", 0), -EBUSY);
  EXPECT_EQ(fix_add(2, 2), 4);
  EXPECT_EQ(first.Count(Addr(&fix_add)), 1u);
  EXPECT_EQ(second.Count(Addr(&fix_add)), 0u);
  // A plain ops may share the function.
  Tracer plain;
  ASSERT_EQ(plain.SetFilter("fix_add"), 0);
  EXPECT_EQ(plain.Register(), 0);
}

TEST(IpModify, PlainOpsCannotRedirect) {
  Tracer tracer;
  int rc = 0;
  tracer.SetHook([&](Tracer &, const Hit &, sled_regs *regs) {
    rc = sled_regs_set_ip(regs, Addr(&fix_add_alt));
  });
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(fix_add(1, 2), 3);
  EXPECT_LT(rc, 0);
}

}  // namespace
}  // namespace sled_test
