// dispatch_test.cc — the CALL_OPS site states, read both through
// sled_site_lookup and from the code bytes: one ops -> DIRECT with the
// literal naming it; two -> LIST with a literal naming neither, each
// callback run once per call; back to DIRECT when one leaves; NONE with the
// 5-byte NOP in place when all are gone.
#include <gtest/gtest.h>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

class Dispatch : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sled_set_strategy("callops"), 0); }
};

void ExpectDirect(uintptr_t ip, const sled_ops *ops) {
  sled_site_info info = SiteInfo(ip);
  EXPECT_EQ(info.enabled, 1);
  EXPECT_EQ(info.nr_ops, 1u);
  EXPECT_EQ(info.dispatch, SLED_DISPATCH_DIRECT);
  EXPECT_EQ(info.literal, ops);
  EXPECT_EQ(LiteralAt(ip), ops);
  EXPECT_EQ(PatchBytes(ip)[0], 0xe8);  // call rel32
}

void ExpectDisabled(uintptr_t ip) {
  sled_site_info info = SiteInfo(ip);
  EXPECT_EQ(info.enabled, 0);
  EXPECT_EQ(info.nr_ops, 0u);
  EXPECT_EQ(info.dispatch, SLED_DISPATCH_NONE);
  const uint8_t *p = PatchBytes(ip);
  EXPECT_TRUE(IsFiveByteNop(p))
      << std::hex << int(p[0]) << " " << int(p[1]) << " " << int(p[2]) << " "
      << int(p[3]) << " " << int(p[4]);
}

TEST_F(Dispatch, UntracedSiteIsANop) { ExpectDisabled(Addr(&fix_mul)); }

TEST_F(Dispatch, OneOpsIsDirect) {
  Tracer a;
  ASSERT_EQ(a.SetFilter("fix_mul"), 0);
  ASSERT_EQ(a.Register(), 0);
  ExpectDirect(Addr(&fix_mul), a.ops());
  EXPECT_EQ(fix_mul(6, 7), 42);
  EXPECT_EQ(a.Count(Addr(&fix_mul)), 1u);
  ASSERT_EQ(a.Unregister(), 0);
  ExpectDisabled(Addr(&fix_mul));
}

TEST_F(Dispatch, TwoOpsAreAListAndEachRunsOncePerCall) {
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_mul"), 0);
  ASSERT_EQ(b.SetFilter("fix_mul fix_add"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);

  sled_site_info info = SiteInfo(Addr(&fix_mul));
  EXPECT_EQ(info.enabled, 1);
  EXPECT_EQ(info.nr_ops, 2u);
  EXPECT_EQ(info.dispatch, SLED_DISPATCH_LIST);
  EXPECT_NE(info.literal, nullptr);
  EXPECT_NE(info.literal, a.ops());
  EXPECT_NE(info.literal, b.ops());
  EXPECT_EQ(LiteralAt(Addr(&fix_mul)), info.literal);
  EXPECT_EQ(PatchBytes(Addr(&fix_mul))[0], 0xe8);
  // fix_add has only b: direct.
  ExpectDirect(Addr(&fix_add), b.ops());

  for (int i = 0; i < 25; i++) ASSERT_EQ(fix_mul(i, 2), 2 * i);
  EXPECT_EQ(a.Count(Addr(&fix_mul)), 25u);
  EXPECT_EQ(b.Count(Addr(&fix_mul)), 25u);
  EXPECT_EQ(a.Total(), 25u);
  EXPECT_EQ(b.Total(), 25u);

  // One leaves: direct again, naming the one that stays.
  ASSERT_EQ(a.Unregister(), 0);
  ExpectDirect(Addr(&fix_mul), b.ops());
  for (int i = 0; i < 5; i++) ASSERT_EQ(fix_mul(i, 3), 3 * i);
  EXPECT_EQ(a.Total(), 25u);
  EXPECT_EQ(b.Count(Addr(&fix_mul)), 30u);

  ASSERT_EQ(b.Unregister(), 0);
  ExpectDisabled(Addr(&fix_mul));
  ExpectDisabled(Addr(&fix_add));
  EXPECT_EQ(fix_mul(2, 2), 4);
  EXPECT_EQ(b.Count(Addr(&fix_mul)), 30u);
}

TEST_F(Dispatch, ThreeOpsThenOneLeavesStaysAList) {
  Tracer a, b, c;
  for (Tracer *t : {&a, &b, &c}) {
    ASSERT_EQ(t->SetFilter("fix_add"), 0);
    ASSERT_EQ(t->Register(), 0);
  }
  EXPECT_EQ(SiteInfo(Addr(&fix_add)).nr_ops, 3u);
  ASSERT_EQ(b.Unregister(), 0);
  sled_site_info info = SiteInfo(Addr(&fix_add));
  EXPECT_EQ(info.nr_ops, 2u);
  EXPECT_EQ(info.dispatch, SLED_DISPATCH_LIST);
  EXPECT_EQ(fix_add(1, 2), 3);
  EXPECT_EQ(a.Total(), 1u);
  EXPECT_EQ(b.Total(), 0u);
  EXPECT_EQ(c.Total(), 1u);
}

TEST_F(Dispatch, FilterChangeMovesTheSiteBetweenStates) {
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_mul"), 0);
  ASSERT_EQ(b.SetFilter("fix_add"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);
  ExpectDirect(Addr(&fix_mul), a.ops());
  ASSERT_EQ(b.SetFilter("fix_mul", 0), 0);
  EXPECT_EQ(SiteInfo(Addr(&fix_mul)).dispatch, SLED_DISPATCH_LIST);
  ASSERT_EQ(a.SetFilter("fix_add"), 0);
  ExpectDirect(Addr(&fix_mul), b.ops());
  EXPECT_EQ(SiteInfo(Addr(&fix_add)).dispatch, SLED_DISPATCH_LIST);
  ASSERT_EQ(b.SetNotrace("fix_mul"), 0);
  ExpectDisabled(Addr(&fix_mul));
}

}  // namespace
}  // namespace sled_test
