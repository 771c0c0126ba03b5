// dispatch_test.cc — the CALL_OPS site states, read both through
// sled_site_lookup and from the code bytes: one ops -> DIRECT with the
// literal naming it; two -> LIST with a literal naming neither, each
// callback run once per call; back to DIRECT when one leaves; NONE with the
// 5-byte NOP in place when all are gone.
//
// StrategyDispatch repeats the states under each dispatch strategy and reads
// where each enabled site's call goes, switching live between strategies:
// callops and list send every site of a module to one target each (the
// common or the list trampoline, or its near stub), dyntramp sends a site
// traced by one ops to that ops' generated trampoline and a site traced by
// several to the list target. StrategyEnv checks SLED_STRATEGY (run by the
// e2e_strategy_env_* CTest tests with the variable set).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "fix_main.h"
#include "fix_shared.h"
#include "fixture_variant.h"
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
  EXPECT_TRUE(IsSiteCall(PatchBytes(ip)));  // call rel32 / bl
}

void ExpectDisabled(uintptr_t ip) {
  sled_site_info info = SiteInfo(ip);
  EXPECT_EQ(info.enabled, 0);
  EXPECT_EQ(info.nr_ops, 0u);
  EXPECT_EQ(info.dispatch, SLED_DISPATCH_NONE);
  const uint8_t *p = PatchBytes(ip);
  EXPECT_TRUE(IsSiteNop(p)) << std::hex << int(p[0]) << " " << int(p[1]) << " " << int(p[2]) << " "
                            << int(p[3]) << " " << int(p[4]);
}

// Two ops trace `ip`: its literal names a list ops, neither of them.
void ExpectListOf2(uintptr_t ip, const sled_ops *a, const sled_ops *b) {
  sled_site_info info = SiteInfo(ip);
  EXPECT_EQ(info.enabled, 1);
  EXPECT_EQ(info.nr_ops, 2u);
  EXPECT_EQ(info.dispatch, SLED_DISPATCH_LIST);
  EXPECT_NE(info.literal, nullptr);
  EXPECT_NE(info.literal, a);
  EXPECT_NE(info.literal, b);
  EXPECT_EQ(LiteralAt(ip), info.literal);
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

// A site calls the trampoline in libsled directly when its call reaches it,
// and otherwise a near stub (veneer) within reach that jumps there. The
// non-PIE variants put the executable far below the shared libraries
// (x86-64: below 4 GiB; aarch64: qemu and Linux alike), so their sites
// must use a stub: this is the test that runs the veneers.
TEST_F(Dispatch, SitesReachTheTrampolineDirectlyOrThroughANearStub) {
  const uintptr_t sh_alpha_ip = LibrarySymbol(kVariant.shared_library, "sh_alpha");
  ASSERT_NE(sh_alpha_ip, 0u);
  Tracer a;
  ASSERT_EQ(a.SetFilter("fix_mul sh_alpha"), 0);
  ASSERT_EQ(a.Register(), 0);
  const std::string libsled = ModuleOf(Addr(&sled_register_ops));
  ASSERT_EQ(libsled.rfind("libsled", 0), 0u) << libsled;
  uintptr_t trampoline = 0;
  for (uintptr_t ip : {Addr(&fix_mul), sh_alpha_ip}) {
    const uint8_t *patch = PatchBytes(ip);
    const uintptr_t target = SiteCallTarget(patch);
    ASSERT_NE(target, 0u);
    const uintptr_t stub_target = NearStubTarget(target);
    const uintptr_t tramp = stub_target ? stub_target : target;
    EXPECT_EQ(ModuleOf(tramp), libsled) << ModuleOf(ip);
    if (trampoline) EXPECT_EQ(tramp, trampoline);  // one common trampoline
    trampoline = tramp;
    // A stub exactly when the trampoline is out of the call's reach.
    EXPECT_EQ(stub_target != 0, !DirectCallReaches(Addr(patch), tramp)) << ModuleOf(ip);
    if (!kVariant.pie && ip == Addr(&fix_mul)) EXPECT_NE(stub_target, 0u) << "non-PIE executable";
  }
  EXPECT_EQ(fix_mul(2, 3), 6);
  EXPECT_EQ(a.Count(Addr(&fix_mul)), 1u);
}

TEST_F(Dispatch, TwoOpsAreAListAndEachRunsOncePerCall) {
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_mul"), 0);
  ASSERT_EQ(b.SetFilter("fix_mul fix_add"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);

  ExpectListOf2(Addr(&fix_mul), a.ops(), b.ops());
  EXPECT_TRUE(IsSiteCall(PatchBytes(Addr(&fix_mul))));
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

// ---- the three strategies ---------------------------------------------------

// Where the enabled site of the function at ip calls (`e8 rel32` / `bl`).
// 0 when the site holds no call.
uintptr_t CallTarget(uintptr_t ip) { return SiteCallTarget(PatchBytes(ip)); }

class StrategyDispatch : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override { ASSERT_EQ(sled_set_strategy(GetParam()), 0); }
  void TearDown() override { EXPECT_EQ(sled_set_strategy("callops"), 0); }
};

TEST_P(StrategyDispatch, OneOpsRunsOncePerCallAndTheLiteralNamesIt) {
  Tracer a;
  ASSERT_EQ(a.SetFilter("fix_mul"), 0);
  ASSERT_EQ(a.Register(), 0);
  EXPECT_STREQ(sled_get_strategy(), GetParam());
  ExpectDirect(Addr(&fix_mul), a.ops());
  EXPECT_NE(CallTarget(Addr(&fix_mul)), 0u);
  for (int i = 0; i < 40; i++) ASSERT_EQ(fix_mul(i, 5), 5 * i);
  EXPECT_EQ(a.Count(Addr(&fix_mul)), 40u);
  EXPECT_EQ(a.Total(), 40u);
  for (const Hit &h : a.Hits()) ASSERT_EQ(h.ops, a.ops());
  ASSERT_EQ(a.Unregister(), 0);
  ExpectDisabled(Addr(&fix_mul));
  EXPECT_EQ(LiteralAt(Addr(&fix_mul)), SiteInfo(Addr(&fix_mul)).literal);
  EXPECT_EQ(fix_mul(2, 3), 6);
  EXPECT_EQ(a.Total(), 40u);
}

TEST_P(StrategyDispatch, TwoOpsEachRunOncePerCall) {
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_mul"), 0);
  ASSERT_EQ(b.SetFilter("fix_mul"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);
  ExpectListOf2(Addr(&fix_mul), a.ops(), b.ops());
  EXPECT_NE(CallTarget(Addr(&fix_mul)), 0u);

  for (int i = 0; i < 40; i++) ASSERT_EQ(fix_mul(i, 4), 4 * i);
  EXPECT_EQ(a.Count(Addr(&fix_mul)), 40u);
  EXPECT_EQ(b.Count(Addr(&fix_mul)), 40u);
  EXPECT_EQ(a.Total(), 40u);
  EXPECT_EQ(b.Total(), 40u);
  for (const Hit &h : a.Hits()) ASSERT_EQ(h.ops, a.ops());
  for (const Hit &h : b.Hits()) ASSERT_EQ(h.ops, b.ops());

  ASSERT_EQ(a.Unregister(), 0);
  ExpectDirect(Addr(&fix_mul), b.ops());
  EXPECT_EQ(fix_mul(3, 3), 9);
  EXPECT_EQ(a.Total(), 40u);
  EXPECT_EQ(b.Total(), 41u);
  ASSERT_EQ(b.Unregister(), 0);
  ExpectDisabled(Addr(&fix_mul));
}

// A traces fix_add, fix_add_alt and sh_alpha alone, B fix_args6 and sh_beta
// alone, both fix_mul. Registered under the parameter's strategy, then every
// strategy in turn, live, back to callops, and everything unregistered.
TEST_P(StrategyDispatch, CallTargetsFollowTheStrategy) {
  const uintptr_t sh_alpha_ip = LibrarySymbol(kVariant.shared_library, "sh_alpha");
  const uintptr_t sh_beta_ip = LibrarySymbol(kVariant.shared_library, "sh_beta");
  ASSERT_NE(sh_alpha_ip, 0u);
  ASSERT_NE(sh_beta_ip, 0u);
  struct Fn {
    const char *name;
    uintptr_t ip;
    int traced_by;  // 1: A, 2: B, 3: both
  };
  const Fn fns[] = {
      {"fix_add", Addr(&fix_add), 1},     {"fix_add_alt", Addr(&fix_add_alt), 1},
      {"fix_args6", Addr(&fix_args6), 2}, {"fix_mul", Addr(&fix_mul), 3},
      {"sh_alpha", sh_alpha_ip, 1},       {"sh_beta", sh_beta_ip, 2},
  };
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_add fix_add_alt fix_mul sh_alpha"), 0);
  ASSERT_EQ(b.SetFilter("fix_mul fix_args6 sh_beta"), 0);
  ASSERT_EQ(a.Register(), 0);
  ASSERT_EQ(b.Register(), 0);
  const sled_ops *list_literal = SiteInfo(Addr(&fix_mul)).literal;

  // Each strategy, starting with the parameter's: the literals, the exact
  // counts and the call targets of every function.
  std::map<std::string, std::map<std::string, uintptr_t>> target;  // [strategy][fn]
  int start = 0;
  while (std::strcmp(kStrategies[start], GetParam()) != 0) start++;
  size_t a_calls = 0, b_calls = 0;
  for (int k = 0; k < 3; k++) {
    const char *strategy = kStrategies[(start + k) % 3];
    SCOPED_TRACE(strategy);
    ASSERT_EQ(sled_set_strategy(strategy), 0);
    EXPECT_STREQ(sled_get_strategy(), strategy);
    for (const Fn &f : fns) {
      SCOPED_TRACE(f.name);
      sled_site_info info = SiteInfo(f.ip);
      EXPECT_EQ(info.enabled, 1);
      if (f.traced_by == 3) {
        EXPECT_EQ(info.dispatch, SLED_DISPATCH_LIST);
        EXPECT_EQ(info.literal, list_literal);  // the switch keeps the list ops
      } else {
        ExpectDirect(f.ip, f.traced_by == 1 ? a.ops() : b.ops());
      }
      EXPECT_EQ(LiteralAt(f.ip), info.literal);
      target[strategy][f.name] = CallTarget(f.ip);
      EXPECT_NE(target[strategy][f.name], 0u);
    }
    for (int i = 0; i < 10; i++) {
      ASSERT_EQ(fix_add(i, 1), i + 1);
      ASSERT_EQ(fix_add_alt(i, 1), 1001 + i);
      ASSERT_EQ(fix_args6(i, 0, 0, 0, 0, 0), i);
      ASSERT_EQ(fix_mul(i, 2), 2 * i);
      ASSERT_EQ(sh_alpha(i), 7 * i);
      ASSERT_EQ(sh_beta(i, 1), 100 * i + 1);
    }
    a_calls += 40;
    b_calls += 30;
    for (const Fn &f : fns) {
      EXPECT_EQ(a.Count(f.ip), f.traced_by & 1 ? size_t(10 * (k + 1)) : 0u) << f.name;
      EXPECT_EQ(b.Count(f.ip), f.traced_by & 2 ? size_t(10 * (k + 1)) : 0u) << f.name;
    }
    EXPECT_EQ(a.Total(), a_calls);
    EXPECT_EQ(b.Total(), b_calls);
  }

  std::map<std::string, uintptr_t> &callops = target["callops"];
  std::map<std::string, uintptr_t> &list = target["list"];
  std::map<std::string, uintptr_t> &dyn = target["dyntramp"];
  // callops and list: one target per module whatever the ops, and not the
  // same one.
  for (const char *fn : {"fix_add_alt", "fix_args6", "fix_mul"}) {
    EXPECT_EQ(callops[fn], callops["fix_add"]) << fn;
    EXPECT_EQ(list[fn], list["fix_add"]) << fn;
  }
  EXPECT_EQ(callops["sh_beta"], callops["sh_alpha"]);
  EXPECT_EQ(list["sh_beta"], list["sh_alpha"]);
  EXPECT_NE(callops["fix_add"], list["fix_add"]);
  EXPECT_NE(callops["sh_alpha"], list["sh_alpha"]);
  // dyntramp: per-ops targets for single-ops sites, the list one for fix_mul.
  EXPECT_EQ(dyn["fix_add_alt"], dyn["fix_add"]);  // A's trampoline for this module
  EXPECT_NE(dyn["fix_add"], dyn["fix_args6"]);
  EXPECT_NE(dyn["sh_alpha"], dyn["sh_beta"]);
  for (const char *fn : {"fix_add", "fix_args6"}) {
    EXPECT_NE(dyn[fn], callops["fix_add"]) << fn;
    EXPECT_NE(dyn[fn], list["fix_add"]) << fn;
  }
  for (const char *fn : {"sh_alpha", "sh_beta"}) {
    EXPECT_NE(dyn[fn], callops["sh_alpha"]) << fn;
    EXPECT_NE(dyn[fn], list["sh_alpha"]) << fn;
  }
  EXPECT_EQ(dyn["fix_mul"], list["fix_mul"]);

  // Back to callops: the callops targets again, counts still exact.
  ASSERT_EQ(sled_set_strategy("callops"), 0);
  for (const Fn &f : fns) {
    EXPECT_EQ(CallTarget(f.ip), callops[f.name]) << f.name;
    EXPECT_EQ(SiteInfo(f.ip).enabled, 1) << f.name;
  }
  a.Clear();
  b.Clear();
  EXPECT_EQ(fix_mul(6, 7), 42);
  EXPECT_EQ(fix_args6(1, 0, 0, 0, 0, 0), 1);
  EXPECT_EQ(a.Count(Addr(&fix_mul)), 1u);
  EXPECT_EQ(b.Count(Addr(&fix_mul)), 1u);
  EXPECT_EQ(b.Count(Addr(&fix_args6)), 1u);
  EXPECT_EQ(a.Total(), 1u);
  EXPECT_EQ(b.Total(), 2u);

  // Everything unregistered (under the parameter's strategy): disabled NOPs.
  ASSERT_EQ(sled_set_strategy(GetParam()), 0);
  ASSERT_EQ(a.Unregister(), 0);
  ASSERT_EQ(b.Unregister(), 0);
  for (const Fn &f : fns) {
    SCOPED_TRACE(f.name);
    ExpectDisabled(f.ip);
  }
  EXPECT_EQ(Stats().sites_enabled, 0u);
  EXPECT_EQ(fix_mul(2, 2), 4);
  EXPECT_EQ(a.Total(), 1u);
  EXPECT_EQ(b.Total(), 2u);
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, StrategyDispatch, ::testing::ValuesIn(kStrategies));

// ---- SLED_STRATEGY ---------------------------------------------------------
// sled reads SLED_STRATEGY once, at start-up (libsled's constructor, which
// runs before this executable's static initialisers).
const std::string g_strategy_at_start = sled_get_strategy();

// What SLED_STRATEGY should have selected: a valid name, else callops (an
// unknown name only warns on stderr).
std::string StrategyFromEnvironment() {
  const char *env = std::getenv("SLED_STRATEGY");
  if (env)
    for (const char *s : kStrategies)
      if (std::strcmp(env, s) == 0) return s;
  return "callops";
}

TEST(StrategyEnv, StartsWithTheStrategyOfTheEnvironment) {
  const std::string expected = StrategyFromEnvironment();
  EXPECT_EQ(g_strategy_at_start, expected);
  // Run alone (the e2e_strategy_env_* tests set SLED_TEST_EXPECT_STRATEGY and
  // a gtest filter) nothing has switched yet: the strategy in force now, and
  // the one a first ops is traced with.
  if (const char *alone = std::getenv("SLED_TEST_EXPECT_STRATEGY")) {
    EXPECT_EQ(expected, alone);
    EXPECT_STREQ(sled_get_strategy(), alone);
    Tracer t;
    ASSERT_EQ(t.SetFilter("fix_add"), 0);
    ASSERT_EQ(t.Register(), 0);
    EXPECT_STREQ(sled_get_strategy(), alone);
    EXPECT_EQ(fix_add(20, 22), 42);
    EXPECT_EQ(t.Count(Addr(&fix_add)), 1u);
    ExpectDirect(Addr(&fix_add), t.ops());
  }
}

}  // namespace
}  // namespace sled_test
