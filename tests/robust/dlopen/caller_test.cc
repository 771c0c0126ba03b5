// caller_test.cc — linking libsled must not change what dlopen finds
// (issue 8, item 7). glibc resolves $ORIGIN and the RUNPATH/RPATH search
// against the module that called dlopen; sled's dlopen wrapper is that
// caller unless it resolves the name for the program's real caller. The
// executable has a RUNPATH of $ORIGIN/main_plugins; libdlr_loader_runpath.so
// and libdlr_loader_rpath.so (in loaders/) have a RUNPATH / RPATH of
// $ORIGIN/../plugins. libdlr_plug.so exists in plugins/ (id 1) and in
// main_plugins/ (id 2), both with the SONAME libdlr_plug.so; neither
// directory is searched by libsled.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <link.h>

#include <cstring>
#include <string>

#include "sled_test_support.h"

extern "C" void *dlr_loader_runpath_open(const char *file);
extern "C" void *dlr_loader_rpath_open(const char *file);

namespace sled_test {
namespace {

std::string ExeDir() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return "";
  path[n] = 0;
  return std::string(path, std::strrchr(path, '/'));
}

// A dlopen handle closed when the test ends.
class Handle {
 public:
  explicit Handle(void *h) : h_(h) {}
  ~Handle() {
    if (h_) dlclose(h_);
  }
  void *get() const { return h_; }
  int Id() const { return reinterpret_cast<int (*)()>(dlsym(h_, "dlr_plug_id"))(); }
  uintptr_t Value() const { return reinterpret_cast<uintptr_t>(dlsym(h_, "dlr_plug_value")); }
  std::string Path() const {
    link_map *map = nullptr;
    if (dlinfo(h_, RTLD_DI_LINKMAP, &map) != 0) return "";
    return map->l_name;
  }

 private:
  void *h_;
};

TEST(DlopenCaller, NameFoundThroughTheProgramsRunpath) {
  Handle h(dlopen("libdlr_plug.so", RTLD_NOW));
  ASSERT_NE(h.get(), nullptr) << dlerror();
  EXPECT_EQ(h.Id(), 2);
  EXPECT_EQ(h.Path(), ExeDir() + "/main_plugins/libdlr_plug.so");
}

TEST(DlopenCaller, OriginInTheProgramsPath) {
  Handle h(dlopen("$ORIGIN/plugins/libdlr_plug.so", RTLD_NOW));
  ASSERT_NE(h.get(), nullptr) << dlerror();
  EXPECT_EQ(h.Id(), 1);
  Handle braces(dlopen("${ORIGIN}/plugins/libdlr_plug.so", RTLD_NOW));
  EXPECT_EQ(braces.get(), h.get());
}

TEST(DlopenCaller, AlreadyLoadedSonameIsReturned) {
  // glibc answers a name with an object already loaded under that SONAME
  // before it searches any directory.
  Handle first(dlopen((ExeDir() + "/plugins/libdlr_plug.so").c_str(), RTLD_NOW));
  ASSERT_NE(first.get(), nullptr) << dlerror();
  Handle again(dlopen("libdlr_plug.so", RTLD_NOW));
  EXPECT_EQ(again.get(), first.get());
  EXPECT_EQ(again.Id(), 1);
}

TEST(DlopenCaller, NameFoundThroughALibrarysRunpath) {
  Handle h(dlr_loader_runpath_open("libdlr_plug.so"));
  ASSERT_NE(h.get(), nullptr) << dlerror();
  EXPECT_EQ(h.Id(), 1);
}

TEST(DlopenCaller, NameFoundThroughALibrarysRpath) {
  Handle h(dlr_loader_rpath_open("libdlr_plug.so"));
  ASSERT_NE(h.get(), nullptr) << dlerror();
  EXPECT_EQ(h.Id(), 1);
}

TEST(DlopenCaller, OriginInALibrarysPath) {
  Handle h(dlr_loader_runpath_open("$ORIGIN/../plugins/libdlr_plug.so"));
  ASSERT_NE(h.get(), nullptr) << dlerror();
  EXPECT_EQ(h.Id(), 1);
}

TEST(DlopenCaller, MissingNameStillFails) {
  EXPECT_EQ(dlopen("libdlr_no_such_plugin.so", RTLD_NOW), nullptr);
  EXPECT_NE(dlerror(), nullptr);
  EXPECT_EQ(dlopen("$ORIGIN/plugins/libdlr_no_such_plugin.so", RTLD_NOW), nullptr);
}

TEST(DlopenCaller, NullIsTheProgram) {
  void *self = dlopen(nullptr, RTLD_NOW);
  ASSERT_NE(self, nullptr);
  link_map *map = nullptr;
  ASSERT_EQ(dlinfo(self, RTLD_DI_LINKMAP, &map), 0);
  EXPECT_STREQ(map->l_name, "");
  dlclose(self);
}

TEST(DlopenCaller, PluginFoundThroughRunpathIsTraced) {
  // The wrapper's module refresh still runs: a registered ops traces the
  // new plugin's function at once.
  Tracer tracer;
  ASSERT_EQ(tracer.Register(), 0);
  Handle h(dlopen("libdlr_plug.so", RTLD_NOW));
  ASSERT_NE(h.get(), nullptr) << dlerror();
  sled_site_info info = SiteInfo(h.Value());
  EXPECT_STREQ(info.name, "dlr_plug_value");
  EXPECT_STREQ(info.module, "libdlr_plug.so");
  EXPECT_EQ(reinterpret_cast<int (*)(int)>(h.Value())(4), 42);
  EXPECT_EQ(tracer.Count(h.Value()), 1u);
  EXPECT_EQ(tracer.Unregister(), 0);
}

}  // namespace
}  // namespace sled_test
