// dlmopen_test.cc — sled traces the link-map namespace it lives in (issue 8,
// item 13). An instrumented library dlmopen'ed into a new namespace runs
// unharmed and untraced, and sled says so in sled_last_error; one dlmopen'ed
// into the base namespace is traced at once, as after dlopen. The name is
// resolved for the program (its $ORIGIN), not for libsled.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "sled_test_support.h"

namespace sled_test {
namespace {

int Call(void *handle, int x) {
  return reinterpret_cast<int (*)(int)>(dlsym(handle, "dlr_plug_value"))(x);
}

TEST(Dlmopen, NewNamespaceIsNotTracedAndSaysSo) {
  Tracer tracer;  // every site
  ASSERT_EQ(tracer.Register(), 0);
  void *handle = dlmopen(LM_ID_NEWLM, "$ORIGIN/plugins/libdlr_plug.so", RTLD_NOW);
  ASSERT_NE(handle, nullptr) << dlerror();
  const std::string error = sled_last_error();
  Lmid_t ns = LM_ID_BASE;
  ASSERT_EQ(dlinfo(handle, RTLD_DI_LMID, &ns), 0);
  EXPECT_NE(ns, LM_ID_BASE);
  EXPECT_NE(error.find("which sled does not trace"), std::string::npos) << error;
  auto value = reinterpret_cast<uintptr_t>(dlsym(handle, "dlr_plug_value"));
  sled_site_info info{};
  EXPECT_EQ(sled_site_lookup(value, &info), -ENOENT);
  EXPECT_EQ(Call(handle, 4), 41);
  EXPECT_EQ(tracer.Total(), 0u);
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(dlclose(handle), 0);
}

TEST(Dlmopen, BaseNamespaceIsTracedAtOnce) {
  Tracer tracer;
  ASSERT_EQ(tracer.Register(), 0);
  void *handle = dlmopen(LM_ID_BASE, "$ORIGIN/plugins/libdlr_plug.so", RTLD_NOW);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto value = reinterpret_cast<uintptr_t>(dlsym(handle, "dlr_plug_value"));
  EXPECT_STREQ(SiteInfo(value).name, "dlr_plug_value");
  EXPECT_EQ(Call(handle, 4), 41);
  EXPECT_EQ(tracer.Count(value), 1u);
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(dlclose(handle), 0);
}

}  // namespace
}  // namespace sled_test
