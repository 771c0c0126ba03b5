// filter_test.cc — sled_set_filter / sled_set_notrace semantics: globs,
// `!pattern`, `pattern@module`, space and comma separators, -ENOENT and
// -EINVAL leaving the set unchanged, notrace winning over the filter, empty
// filter meaning every site, and live changes taking effect on return.
// Which functions an ops traces is measured by calling the gl_* fixture
// functions once each and looking at what the callback saw.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "fix_main.h"
#include "fix_shared.h"
#include "fixture_variant.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

using Names = std::set<std::string>;

struct GlFunction {
  const char *name;
  int (*fn)(int);
};
const GlFunction kGlFunctions[] = {
    {"gl_apple", gl_apple},
    {"gl_apple_pie", gl_apple_pie},
    {"gl_cherry_pie", gl_cherry_pie},
    {"gl_berry_tart", gl_berry_tart},
    {"gl_banana_split", gl_banana_split},
};

// Calls each gl_* function once; returns those the tracer saw exactly once
// (a function seen more than once fails the test).
Names TracedGlFunctions(Tracer &tracer) {
  tracer.Clear();
  for (const GlFunction &f : kGlFunctions) f.fn(1);
  Names traced;
  for (const GlFunction &f : kGlFunctions) {
    size_t n = tracer.Count(Addr(f.fn));
    EXPECT_LE(n, 1u) << f.name;
    if (n) traced.insert(f.name);
  }
  tracer.Clear();
  return traced;
}

const Names kAllGl = {"gl_apple", "gl_apple_pie", "gl_cherry_pie", "gl_berry_tart",
                      "gl_banana_split"};

class Filter : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(tracer.Register(), 0); }
  // Sets the filter (reset) and returns what is traced afterwards.
  Names With(const char *patterns) {
    EXPECT_EQ(tracer.SetFilter(patterns), 0) << patterns;
    return TracedGlFunctions(tracer);
  }
  Tracer tracer;
};

TEST_F(Filter, ExactName) { EXPECT_EQ(With("gl_apple"), Names({"gl_apple"})); }

TEST_F(Filter, PrefixGlob) { EXPECT_EQ(With("gl_apple*"), Names({"gl_apple", "gl_apple_pie"})); }

TEST_F(Filter, SuffixGlob) { EXPECT_EQ(With("*_pie"), Names({"gl_apple_pie", "gl_cherry_pie"})); }

TEST_F(Filter, InfixGlob) { EXPECT_EQ(With("*rry*"), Names({"gl_cherry_pie", "gl_berry_tart"})); }

TEST_F(Filter, StarInTheMiddle) {
  EXPECT_EQ(With("gl_b*t"), Names({"gl_berry_tart", "gl_banana_split"}));
}

TEST_F(Filter, NegationInTheSameString) {
  EXPECT_EQ(With("gl_* !*_pie"), Names({"gl_apple", "gl_berry_tart", "gl_banana_split"}));
}

TEST_F(Filter, NegationAddedWithoutReset) {
  ASSERT_EQ(tracer.SetFilter("gl_*"), 0);
  ASSERT_EQ(tracer.SetFilter("!*_pie", 0), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple", "gl_berry_tart", "gl_banana_split"}));
}

TEST_F(Filter, AddingWithoutResetKeepsTheOldSet) {
  ASSERT_EQ(tracer.SetFilter("gl_apple"), 0);
  ASSERT_EQ(tracer.SetFilter("gl_berry_tart", 0), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple", "gl_berry_tart"}));
}

TEST_F(Filter, SpacesAndCommasSeparatePatterns) {
  EXPECT_EQ(With("gl_apple, gl_berry_tart gl_banana_split"),
            Names({"gl_apple", "gl_berry_tart", "gl_banana_split"}));
  EXPECT_EQ(With("gl_apple,gl_cherry_pie"), Names({"gl_apple", "gl_cherry_pie"}));
  EXPECT_EQ(With("  gl_apple ,, gl_cherry_pie  "), Names({"gl_apple", "gl_cherry_pie"}));
}

TEST_F(Filter, ModuleRestriction) {
  const std::string exe_only = "gl_*@" + ExeBasename();
  EXPECT_EQ(With(exe_only.c_str()), kAllGl);

  // Only the linked library's functions: none of the executable's.
  ASSERT_EQ(tracer.SetFilter("*@libfixshared_*.so"), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names());
  EXPECT_EQ(sh_alpha(1), 7);
  EXPECT_EQ(fix_add(1, 1), 2);
  EXPECT_EQ(tracer.Count(LibrarySymbol(kVariant.shared_library, "sh_alpha")), 1u);
  EXPECT_EQ(tracer.Total(), 1u);
  // No gl_* function lives in the library.
  EXPECT_EQ(tracer.SetFilter("gl_*@libfixshared*"), -ENOENT);
  EXPECT_EQ(tracer.SetFilter("sh_alpha@no_such_module.so"), -ENOENT);
}

TEST_F(Filter, NoMatchIsEnoentAndLeavesTheFilterUnchanged) {
  ASSERT_EQ(tracer.SetFilter("gl_apple"), 0);
  EXPECT_EQ(tracer.SetFilter("no_such_function_xyz"), -ENOENT);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple"}));
  // One pattern without a match spoils the whole string.
  EXPECT_EQ(tracer.SetFilter("gl_cherry_pie no_such_function_xyz"), -ENOENT);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple"}));
  EXPECT_EQ(tracer.SetFilter("no_such_function_xyz", 0), -ENOENT);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple"}));
  EXPECT_EQ(tracer.SetNotrace("no_such_function_xyz"), -ENOENT);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple"}));
}

TEST_F(Filter, MalformedPatternIsEinvalAndLeavesTheFilterUnchanged) {
  ASSERT_EQ(tracer.SetFilter("gl_apple"), 0);
  for (const char *bad : {"!", "@", "gl_apple@", "!@x", "gl_cherry_pie !"}) {
    EXPECT_EQ(tracer.SetFilter(bad), -EINVAL) << "'" << bad << "'";
    EXPECT_EQ(tracer.SetNotrace(bad), -EINVAL) << "'" << bad << "'";
    EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple"})) << bad;
  }
}

TEST_F(Filter, NotraceWinsOverFilter) {
  ASSERT_EQ(tracer.SetFilter("gl_*"), 0);
  ASSERT_EQ(tracer.SetNotrace("gl_apple*"), 0);
  EXPECT_EQ(TracedGlFunctions(tracer),
            Names({"gl_cherry_pie", "gl_berry_tart", "gl_banana_split"}));
  // Named by both: notrace still wins.
  ASSERT_EQ(tracer.SetFilter("gl_apple"), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names());
  // Clearing notrace brings it back.
  ASSERT_EQ(tracer.SetNotrace(nullptr), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple"}));
}

TEST_F(Filter, NotraceWithEmptyFilterTracesEverythingElse) {
  ASSERT_EQ(tracer.SetNotrace("gl_cherry_pie, gl_berry_tart"), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_apple", "gl_apple_pie", "gl_banana_split"}));
  EXPECT_EQ(fix_add(2, 2), 4);
  EXPECT_EQ(tracer.Count(Addr(&fix_add)), 1u);
  ASSERT_EQ(tracer.SetNotrace("", 1), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), kAllGl);
}

TEST_F(Filter, EmptyFilterMeansEverySite) {
  EXPECT_EQ(TracedGlFunctions(tracer), kAllGl);  // fresh ops
  sled_stats stats = Stats();
  EXPECT_EQ(stats.sites_enabled, stats.sites_found - stats.sites_refused);

  EXPECT_EQ(With("gl_apple"), Names({"gl_apple"}));
  ASSERT_EQ(tracer.SetFilter(nullptr, 1), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), kAllGl);

  EXPECT_EQ(With("gl_apple"), Names({"gl_apple"}));
  ASSERT_EQ(tracer.SetFilter("", 1), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), kAllGl);
  EXPECT_EQ(sh_beta(1, 2), 102);
  EXPECT_EQ(tracer.Total(), 1u);
}

TEST_F(Filter, LiveChangesTakeEffectOnReturn) {
  ASSERT_EQ(tracer.SetFilter("gl_apple"), 0);
  for (int i = 0; i < 3; i++) gl_apple(1), gl_cherry_pie(1);
  EXPECT_EQ(tracer.Count(Addr(&gl_apple)), 3u);
  EXPECT_EQ(tracer.Count(Addr(&gl_cherry_pie)), 0u);

  ASSERT_EQ(tracer.SetFilter("gl_cherry_pie"), 0);
  for (int i = 0; i < 4; i++) gl_apple(1), gl_cherry_pie(1);
  EXPECT_EQ(tracer.Count(Addr(&gl_apple)), 3u);
  EXPECT_EQ(tracer.Count(Addr(&gl_cherry_pie)), 4u);

  ASSERT_EQ(tracer.SetFilter("gl_apple", 0), 0);
  for (int i = 0; i < 5; i++) gl_apple(1), gl_cherry_pie(1);
  EXPECT_EQ(tracer.Count(Addr(&gl_apple)), 8u);
  EXPECT_EQ(tracer.Count(Addr(&gl_cherry_pie)), 9u);

  ASSERT_EQ(tracer.SetNotrace("gl_cherry_pie"), 0);
  for (int i = 0; i < 2; i++) gl_apple(1), gl_cherry_pie(1);
  EXPECT_EQ(tracer.Count(Addr(&gl_apple)), 10u);
  EXPECT_EQ(tracer.Count(Addr(&gl_cherry_pie)), 9u);
}

TEST(FilterUnregistered, FilterSetBeforeRegisterApplies) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("gl_berry_tart gl_apple*"), 0);
  ASSERT_EQ(tracer.SetNotrace("gl_apple"), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names());  // not registered yet
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names({"gl_berry_tart", "gl_apple_pie"}));
  ASSERT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(TracedGlFunctions(tracer), Names());
}

}  // namespace
}  // namespace sled_test
