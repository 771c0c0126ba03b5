// dlmopen_test.cc — modules dlmopen'ed into any link-map namespace are
// traced (issue 8, item 13): an instrumented library dlmopen'ed into a new
// namespace, or into the base one, joins at once, as after dlopen, and
// leaves with dlclose. The name is resolved for the program (its $ORIGIN),
// not for libsled.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "sled_test_support.h"

namespace sled_test {
namespace {

int Call(void *handle, int x) {
  return reinterpret_cast<int (*)(int)>(dlsym(handle, "dlr_plug_value"))(x);
}

TEST(Dlmopen, NewNamespaceIsTracedAtOnce) {
  Tracer tracer;  // every site, the new module's too
  ASSERT_EQ(tracer.Register(), 0);
  void *handle = dlmopen(LM_ID_NEWLM, "$ORIGIN/plugins/libdlr_plug.so", RTLD_NOW);
  ASSERT_NE(handle, nullptr) << dlerror();
  Lmid_t ns = LM_ID_BASE;
  ASSERT_EQ(dlinfo(handle, RTLD_DI_LMID, &ns), 0);
  EXPECT_NE(ns, LM_ID_BASE);
  auto value = reinterpret_cast<uintptr_t>(dlsym(handle, "dlr_plug_value"));
  sled_site_info info = SiteInfo(value);
  EXPECT_STREQ(info.name, "dlr_plug_value");
  EXPECT_STREQ(info.module, "libdlr_plug.so");
  EXPECT_EQ(Call(handle, 4), 41);
  EXPECT_EQ(tracer.Count(value), 1u);

  // A second module loaded into that namespace joins too (the other copy,
  // by path); both leave with dlclose.
  void *second = dlmopen(ns, "$ORIGIN/main_plugins/libdlr_plug.so", RTLD_NOW);
  ASSERT_NE(second, nullptr) << dlerror();
  Lmid_t second_ns = LM_ID_BASE;
  ASSERT_EQ(dlinfo(second, RTLD_DI_LMID, &second_ns), 0);
  EXPECT_EQ(second_ns, ns);
  auto second_value = reinterpret_cast<uintptr_t>(dlsym(second, "dlr_plug_value"));
  EXPECT_EQ(Call(second, 4), 42);
  EXPECT_EQ(tracer.Count(second_value), 1u);
  EXPECT_EQ(dlclose(second), 0);
  EXPECT_EQ(sled_site_lookup(second_value, &info), -ENOENT);
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(dlclose(handle), 0);
  EXPECT_EQ(sled_site_lookup(value, &info), -ENOENT);
}

TEST(Dlmopen, TwoNamespacesHoldTwoTracedCopies) {
  void *a = dlmopen(LM_ID_NEWLM, "$ORIGIN/plugins/libdlr_plug.so", RTLD_NOW);
  void *b = dlmopen(LM_ID_NEWLM, "$ORIGIN/plugins/libdlr_plug.so", RTLD_NOW);
  ASSERT_NE(a, nullptr) << dlerror();
  ASSERT_NE(b, nullptr) << dlerror();
  auto va = reinterpret_cast<uintptr_t>(dlsym(a, "dlr_plug_value"));
  auto vb = reinterpret_cast<uintptr_t>(dlsym(b, "dlr_plug_value"));
  EXPECT_NE(va, vb);
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("dlr_plug_value"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(Call(a, 1), 11);
  EXPECT_EQ(Call(b, 2), 21);
  EXPECT_EQ(tracer.Count(va), 1u);
  EXPECT_EQ(tracer.Count(vb), 1u);
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(dlclose(a), 0);
  EXPECT_EQ(dlclose(b), 0);
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

#if DLR_TEST_OWN_SLED
TEST(Dlmopen, NamespaceWithItsOwnSledIsLeftToIt) {
  // libdlr_plug_sled.so links libsled.so: the new namespace gets its own
  // copy, which traces that namespace. This one must leave it alone (two
  // instances would write the same sites).
  void *handle = dlmopen(LM_ID_NEWLM, "$ORIGIN/libdlr_plug_sled.so", RTLD_NOW);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto value = reinterpret_cast<uintptr_t>(dlsym(handle, "dlr_plug_value"));
  sled_site_info info{};
  EXPECT_EQ(sled_site_lookup(value, &info), -ENOENT);
  using LookupFn = int (*)(uintptr_t, sled_site_info *);
  auto their_lookup = reinterpret_cast<LookupFn>(dlsym(handle, "sled_site_lookup"));
  ASSERT_NE(their_lookup, nullptr);
  EXPECT_NE(their_lookup, &sled_site_lookup);
  ASSERT_EQ(their_lookup(value, &info), 0);
  EXPECT_STREQ(info.name, "dlr_plug_value");
  Tracer tracer;  // every site this instance knows
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(Call(handle, 4), 41);
  EXPECT_EQ(tracer.Count(value), 0u);
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(dlclose(handle), 0);
}
#endif

}  // namespace
}  // namespace sled_test
