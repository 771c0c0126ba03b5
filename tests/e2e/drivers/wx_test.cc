// wx_test.cc — W^X: after every API call that patches (register, filter and
// notrace changes, unregister) and after dlopen/dlclose of an instrumented
// library, no mapping of the process is both writable and executable.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "fix_main.h"
#include "fixture_variant.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

#define EXPECT_NO_WX(step) EXPECT_EQ(WritableExecutableMapping(), "") << "after " << step

TEST(WriteXorExecute, NoMappingIsWritableAndExecutableBetweenCalls) {
  EXPECT_NO_WX("start");
  Tracer a, b;
  ASSERT_EQ(a.SetFilter("fix_add gl_*"), 0);
  EXPECT_NO_WX("set_filter (unregistered)");
  ASSERT_EQ(a.Register(), 0);
  EXPECT_NO_WX("register a");
  ASSERT_EQ(b.Register(), 0);  // every site
  EXPECT_NO_WX("register b (all sites)");
  ASSERT_EQ(a.SetFilter("fix_mul", 0), 0);
  EXPECT_NO_WX("set_filter add");
  ASSERT_EQ(a.SetNotrace("gl_apple"), 0);
  EXPECT_NO_WX("set_notrace");
  EXPECT_EQ(fix_add(1, 2), 3);

  void *lib = dlopen(kVariant.dl_library, RTLD_NOW);
  ASSERT_NE(lib, nullptr) << dlerror();
  EXPECT_NO_WX("dlopen");
  auto one = reinterpret_cast<int (*)(int)>(dlsym(lib, "dl_func_one"));
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one(1), 12);
  EXPECT_EQ(b.Count(Addr(one)), 1u);
  ASSERT_EQ(dlclose(lib), 0);
  EXPECT_NO_WX("dlclose");

  ASSERT_EQ(b.Unregister(), 0);
  EXPECT_NO_WX("unregister b");
  ASSERT_EQ(a.SetFilter(nullptr), 0);
  EXPECT_NO_WX("set_filter reset to all");
  ASSERT_EQ(a.Unregister(), 0);
  EXPECT_NO_WX("unregister a");
}

}  // namespace
}  // namespace sled_test
