// slim_test.cc — the slim update path (src/core/update_slim.cc: one ops
// taking every site it selects from nobody, or giving them all back) and the
// general path write the same bytes and give the same calls. The general
// path is reached through the public API: a filter change of a registered
// ops (sites added to or removed from a non-empty set), and a site that
// another ops already traces.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

using Fn = int (*)(int);
const Fn kFns[] = {gl_apple, gl_apple_pie, gl_cherry_pie, gl_berry_tart, gl_banana_split};
constexpr size_t kCount = sizeof kFns / sizeof kFns[0];

using Insn = std::array<uint8_t, kPatchInsnSize>;
std::vector<Insn> Insns() {
  std::vector<Insn> out(kCount);
  for (size_t i = 0; i < kCount; i++)
    std::memcpy(out[i].data(), PatchBytes(Addr(kFns[i])), kPatchInsnSize);
  return out;
}

// Calls each function i + 1 times; the tracer's count per function.
std::vector<size_t> CallAndCount(Tracer &t) {
  t.Clear();
  for (size_t i = 0; i < kCount; i++)
    for (size_t n = 0; n <= i; n++) kFns[i](1);
  std::vector<size_t> out(kCount);
  for (size_t i = 0; i < kCount; i++) out[i] = t.Count(Addr(kFns[i]));
  return out;
}

TEST(SlimPath, WritesWhatTheGeneralPathWrites) {
  const std::vector<size_t> expected = {1, 2, 3, 4, 5};

  // Slim: register and unregister over sites nobody traces.
  Tracer slim;
  ASSERT_EQ(slim.SetFilter("gl_*"), 0);
  ASSERT_EQ(slim.Register(), 0) << sled_last_error();
  std::vector<Insn> enabled = Insns();
  for (size_t i = 0; i < kCount; i++) {
    EXPECT_TRUE(IsSiteCall(enabled[i].data())) << i;
    EXPECT_EQ(LiteralAt(Addr(kFns[i])), slim.ops()) << i;
  }
  EXPECT_EQ(CallAndCount(slim), expected);
  EXPECT_EQ(Stats().sites_enabled, kCount);
  ASSERT_EQ(slim.Unregister(), 0) << sled_last_error();
  std::vector<Insn> disabled = Insns();
  for (size_t i = 0; i < kCount; i++) EXPECT_TRUE(IsSiteNop(disabled[i].data())) << i;
  EXPECT_EQ(Stats().sites_enabled, 0u);

  // General: one site first, then the filter grows to all (a batch that
  // adds to a non-empty set), then shrinks back (removes all but one).
  Tracer general;
  ASSERT_EQ(general.SetFilter("gl_apple"), 0);
  ASSERT_EQ(general.Register(), 0) << sled_last_error();
  ASSERT_EQ(general.SetFilter("gl_*"), 0) << sled_last_error();
  EXPECT_EQ(Insns(), enabled);
  for (size_t i = 0; i < kCount; i++) EXPECT_EQ(LiteralAt(Addr(kFns[i])), general.ops()) << i;
  EXPECT_EQ(CallAndCount(general), expected);
  EXPECT_EQ(Stats().sites_enabled, kCount);
  ASSERT_EQ(general.SetFilter("gl_apple"), 0) << sled_last_error();
  std::vector<Insn> now = Insns();
  for (size_t i = 1; i < kCount; i++) EXPECT_EQ(now[i], disabled[i]) << i;
  EXPECT_EQ(now[0], enabled[0]);
  EXPECT_EQ(CallAndCount(general), (std::vector<size_t>{1, 0, 0, 0, 0}));
  ASSERT_EQ(general.Unregister(), 0) << sled_last_error();
  EXPECT_EQ(Insns(), disabled);
  EXPECT_FALSE(Stats().killed);
}

// A site that another ops traces makes the batch take the general path
// (the site gets a list ops); each ops still sees exactly its calls.
TEST(SlimPath, ASharedSiteTakesTheGeneralPath) {
  Tracer first, second;
  ASSERT_EQ(first.SetFilter("gl_apple"), 0);
  ASSERT_EQ(first.Register(), 0) << sled_last_error();
  ASSERT_EQ(second.SetFilter("gl_*"), 0);
  ASSERT_EQ(second.Register(), 0) << sled_last_error();
  const sled_ops *shared = LiteralAt(Addr(kFns[0]));
  EXPECT_NE(shared, first.ops());
  EXPECT_NE(shared, second.ops());  // a list ops naming both
  for (size_t i = 1; i < kCount; i++) EXPECT_EQ(LiteralAt(Addr(kFns[i])), second.ops()) << i;
  EXPECT_EQ(CallAndCount(second), (std::vector<size_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(CallAndCount(first), (std::vector<size_t>{1, 0, 0, 0, 0}));

  // first leaves its only site, which second keeps: general path again.
  ASSERT_EQ(first.Unregister(), 0) << sled_last_error();
  EXPECT_EQ(LiteralAt(Addr(kFns[0])), second.ops());
  EXPECT_TRUE(IsSiteCall(PatchBytes(Addr(kFns[0]))));
  first.Clear();
  EXPECT_EQ(CallAndCount(second), (std::vector<size_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(first.Total(), 0u);

  ASSERT_EQ(second.Unregister(), 0) << sled_last_error();  // slim
  for (size_t i = 0; i < kCount; i++) EXPECT_TRUE(IsSiteNop(PatchBytes(Addr(kFns[i])))) << i;
  EXPECT_EQ(Stats().sites_enabled, 0u);
  EXPECT_FALSE(Stats().killed);
}

}  // namespace
}  // namespace sled_test
