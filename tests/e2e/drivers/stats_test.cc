// stats_test.cc — sled_get_stats agrees with the sites: sites_found equals
// sled_site_count, refused counts match the sites' refusals, sites_enabled
// follows the number of traced functions exactly; GCC's cold functions are
// refused if and only if their literal is misaligned; sled_strerror texts.
#include <gtest/gtest.h>

#include <cstring>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

TEST(Stats, FoundAndRefusedAgreeWithTheSites) {
  struct Tally {
    uint64_t sites = 0, refused = 0, by_reason[8] = {}, enabled = 0;
  } tally;
  sled_for_each_site(
      [](const sled_site_info *info, void *arg) {
        auto *t = static_cast<Tally *>(arg);
        t->sites++;
        if (info->refusal != SLED_SITE_OK) t->refused++;
        if (info->refusal >= 0 && info->refusal < 8) t->by_reason[info->refusal]++;
        t->enabled += info->enabled != 0;
        return 0;
      },
      &tally);
  sled_stats stats = Stats();
  EXPECT_EQ(stats.sites_found, tally.sites);
  EXPECT_EQ(stats.sites_found, sled_site_count());
  EXPECT_EQ(stats.sites_refused, tally.refused);
  uint64_t sum = 0;
  for (int r = 1; r < 8; r++) {
    EXPECT_EQ(stats.refused_by_reason[r], tally.by_reason[r]) << "reason " << r;
    sum += stats.refused_by_reason[r];
  }
  EXPECT_EQ(stats.sites_refused, sum);
  EXPECT_EQ(stats.refused_by_reason[SLED_SITE_OK], 0u);
  EXPECT_EQ(stats.sites_enabled, tally.enabled);
  EXPECT_EQ(stats.killed, 0);
  EXPECT_GE(stats.modules, 2u);
}

TEST(Stats, SitesEnabledFollowsTracedFunctions) {
  const uint64_t base = Stats().sites_enabled;
  EXPECT_EQ(base, 0u);  // nothing registered
  const uint64_t batches = Stats().patch_batches;
  const uint64_t patched = Stats().sites_patched;
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("gl_apple gl_cherry_pie fix_add"), 0);
  ASSERT_EQ(a.Register(), 0);
  EXPECT_EQ(Stats().sites_enabled, 3u);
  EXPECT_GT(Stats().patch_batches, batches);
  EXPECT_GE(Stats().sites_patched, patched + 3);
  ASSERT_EQ(b.SetFilter("fix_add fix_mul"), 0);
  ASSERT_EQ(b.Register(), 0);
  EXPECT_EQ(Stats().sites_enabled, 4u);
  ASSERT_EQ(a.SetFilter("gl_apple", 0), 0);  // already traced
  EXPECT_EQ(Stats().sites_enabled, 4u);
  const uint64_t grace = Stats().grace_periods;
  ASSERT_EQ(a.Unregister(), 0);
  EXPECT_EQ(Stats().sites_enabled, 2u);
  EXPECT_GT(Stats().grace_periods, grace);
  ASSERT_EQ(b.Unregister(), 0);
  EXPECT_EQ(Stats().sites_enabled, 0u);
  EXPECT_EQ(Stats().patch_failures, 0u);
}

// GCC's cold functions: a site is refused exactly when its literal is not
// 8-byte aligned, and tracing it then fails naming it.
void ExpectRefusedExactlyWhenMisaligned(const char *name, int (*fn)(int), int arg, int result) {
  sled_site_info info = SiteInfo(Addr(fn));
  const bool misaligned = (Addr(fn) - 8) % 8 != 0;
  EXPECT_EQ(info.refusal, misaligned ? SLED_SITE_MISALIGNED : SLED_SITE_OK) << name;
  Tracer tracer;
  ASSERT_EQ(tracer.Register(), 0);
  int rc = tracer.SetFilter(name);
  if (misaligned) {
    EXPECT_LT(rc, 0) << name;
    EXPECT_NE(std::strstr(sled_last_error(), name), nullptr) << sled_last_error();
    EXPECT_EQ(info.enabled, 0) << name;
  } else {
    EXPECT_EQ(rc, 0) << name;
  }
  EXPECT_EQ(fn(arg), result);
  EXPECT_EQ(tracer.Count(Addr(fn)), misaligned ? 0u : 1u) << name;
}

TEST(Stats, ColdFunctionsAreRefusedExactlyWhenMisaligned) {
  ExpectRefusedExactlyWhenMisaligned("fix_cold", fix_cold, 10, 3);
  ExpectRefusedExactlyWhenMisaligned("fix_cold_b", fix_cold_b, 10, 19);
}

TEST(Stats, StrerrorTextsAreDistinct) {
  const int codes[] = {-ENOENT, -EINVAL, -EEXIST, -EBUSY, -EDEADLK};
  for (int a : codes) {
    ASSERT_NE(sled_strerror(a), nullptr);
    EXPECT_GT(std::strlen(sled_strerror(a)), 0u);
    for (int b : codes)
      if (a != b) EXPECT_STRNE(sled_strerror(a), sled_strerror(b));
  }
  ASSERT_NE(sled_strerror(-123456), nullptr);  // unknown code: still text
  ASSERT_NE(sled_strerror(0), nullptr);
}

TEST(Stats, LastErrorDescribesTheFailure) {
  Tracer tracer;
  EXPECT_EQ(tracer.SetFilter("no_such_function_for_last_error"), -ENOENT);
  ASSERT_NE(sled_last_error(), nullptr);
  EXPECT_NE(std::strstr(sled_last_error(), "no_such_function_for_last_error"), nullptr)
      << sled_last_error();
}

}  // namespace
}  // namespace sled_test
