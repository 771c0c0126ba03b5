// discovery_test.cc — sled finds every instrumented function of the
// executable, of the library linked at start and of a dlopen'ed library,
// under its own name and module; sites of a dlclose'd library go away and
// come back with a second dlopen, where an already registered ops' filter
// applies to them at once. Also sled_site_count and sled_for_each_site.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstring>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "fix_main.h"
#include "fix_shared.h"
#include "fixture_variant.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

struct NamedFunction {
  const char *name;
  uintptr_t address;
};

const NamedFunction kExecutableFunctions[] = {
    {"fix_add", Addr(&fix_add)},
    {"fix_mul", Addr(&fix_mul)},
    {"fix_add_alt", Addr(&fix_add_alt)},
    {"fix_args6", Addr(&fix_args6)},
    {"fix_args10", Addr(&fix_args10)},
    {"fix_mixed", Addr(&fix_mixed)},
    {"fix_vsum_double", Addr(&fix_vsum_double)},
    {"fix_vsum_long", Addr(&fix_vsum_long)},
    {"fix_leaf_ra", Addr(&fix_leaf_ra)},
    {"gl_apple", Addr(&gl_apple)},
    {"gl_apple_pie", Addr(&gl_apple_pie)},
    {"gl_cherry_pie", Addr(&gl_cherry_pie)},
    {"gl_berry_tart", Addr(&gl_berry_tart)},
    {"gl_banana_split", Addr(&gl_banana_split)},
    {"fix_outer", Addr(&fix_outer)},
    {"fix_cold", Addr(&fix_cold)},
    {"fix_cold_b", Addr(&fix_cold_b)},
};
constexpr size_t kSharedLibraryFunctions = 2;  // sh_alpha, sh_beta
constexpr size_t kDlLibraryFunctions = 2;      // dl_func_one, dl_func_two

std::string Basename(const char *path) {
  const char *slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// Opens the dlopen fixture and closes it again when the test ends.
class DlLibrary {
 public:
  DlLibrary() { Open(); }
  ~DlLibrary() { Close(); }
  void Open() {
    handle_ = dlopen(kVariant.dl_library, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << dlerror();
  }
  void Close() {
    if (handle_) EXPECT_EQ(dlclose(handle_), 0);
    handle_ = nullptr;
  }
  uintptr_t Symbol(const char *name) { return reinterpret_cast<uintptr_t>(dlsym(handle_, name)); }
  int CallOne(int x) { return reinterpret_cast<int (*)(int)>(Symbol("dl_func_one"))(x); }
  int CallTwo(int x, int y) {
    return reinterpret_cast<int (*)(int, int)>(Symbol("dl_func_two"))(x, y);
  }

 private:
  void *handle_ = nullptr;
};

TEST(Discovery, ExecutableFunctionsFoundByNameAndModule) {
  const std::string exe = ExeBasename();
  for (const NamedFunction &f : kExecutableFunctions) {
    sled_site_info info{};
    ASSERT_EQ(sled_site_lookup(f.address, &info), 0) << f.name;
    EXPECT_EQ(info.ip, f.address) << f.name;
    ASSERT_NE(info.name, nullptr) << f.name;
    EXPECT_STREQ(info.name, f.name);
    ASSERT_NE(info.module, nullptr) << f.name;
    EXPECT_EQ(exe, info.module) << f.name;
  }
}

TEST(Discovery, StartTimeLibraryFunctionsFoundByNameAndModule) {
  for (const char *name : {"sh_alpha", "sh_beta"}) {
    uintptr_t address = LibrarySymbol(kVariant.shared_library, name);
    ASSERT_NE(address, 0u) << name;
    sled_site_info info = SiteInfo(address);
    EXPECT_STREQ(info.name, name);
    EXPECT_STREQ(info.module, kVariant.shared_library);
    EXPECT_EQ(info.refusal, SLED_SITE_OK) << name;
  }
}

TEST(Discovery, SiteCountCoversEveryFixtureFunction) {
  size_t count = sled_site_count();
  EXPECT_GE(count, std::size(kExecutableFunctions) + kSharedLibraryFunctions);
  EXPECT_EQ(Stats().sites_found, count);
  EXPECT_GE(Stats().modules, 2u);  // the executable and libfixshared
}

TEST(Discovery, ForEachSiteVisitsEverySiteOnce) {
  struct Visit {
    std::set<uintptr_t> ips;
    size_t calls = 0;
  } visit;
  int rc = sled_for_each_site(
      [](const sled_site_info *info, void *arg) {
        auto *v = static_cast<Visit *>(arg);
        v->ips.insert(info->ip);
        v->calls++;
        return 0;
      },
      &visit);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(visit.calls, sled_site_count());
  EXPECT_EQ(visit.ips.size(), visit.calls);
  for (const NamedFunction &f : kExecutableFunctions)
    EXPECT_EQ(visit.ips.count(f.address), 1u) << f.name;
}

TEST(Discovery, ForEachSiteStopsOnNonZeroAndReturnsIt) {
  size_t calls = 0;
  int rc = sled_for_each_site(
      [](const sled_site_info *, void *arg) { return ++*static_cast<size_t *>(arg) == 3 ? 42 : 0; },
      &calls);
  EXPECT_EQ(rc, 42);
  EXPECT_EQ(calls, 3u);
}

TEST(Discovery, LookupOfNonSiteIsEnoent) {
  sled_site_info info{};
  // Inside a function, not at its entry.
  EXPECT_EQ(sled_site_lookup(Addr(&fix_add) + 1, &info), -ENOENT);
  // A driver function: not instrumented.
  EXPECT_EQ(sled_site_lookup(Addr(&ExeBasename), &info), -ENOENT);
}

TEST(Discovery, DlopenAddsSitesAndDlcloseRemovesThem) {
  const size_t count_before = sled_site_count();
  const uint64_t modules_before = Stats().modules;
  const uint64_t normalized_before = Stats().sites_normalized;
  const std::string module = Basename(kVariant.dl_library);

  DlLibrary lib;
  uintptr_t one = lib.Symbol("dl_func_one");
  uintptr_t two = lib.Symbol("dl_func_two");
  ASSERT_NE(one, 0u);
  sled_site_info info = SiteInfo(one);
  EXPECT_STREQ(info.name, "dl_func_one");
  EXPECT_EQ(module, info.module);
  EXPECT_EQ(info.refusal, SLED_SITE_OK);
  EXPECT_STREQ(SiteInfo(two).name, "dl_func_two");
  // x86: GCC's five 1-byte NOPs were rewritten to one 5-byte NOP at load;
  // aarch64: every compiler's entry NOP became `mov x9, x30`.
  EXPECT_TRUE(IsSiteNop(PatchBytes(one)));
  EXPECT_TRUE(IsSiteNop(PatchBytes(two)));
#if defined(__aarch64__)
  const bool normalizes = true;
#else
  const bool normalizes = std::strcmp(kVariant.compiler, "gcc") == 0;
#endif
  EXPECT_EQ(Stats().sites_normalized - normalized_before, normalizes ? kDlLibraryFunctions : 0u);
  EXPECT_GE(sled_site_count(), count_before + kDlLibraryFunctions);
  EXPECT_EQ(Stats().modules, modules_before + 1);

  lib.Close();
  EXPECT_EQ(sled_site_lookup(one, &info), -ENOENT);
  EXPECT_EQ(sled_site_lookup(two, &info), -ENOENT);
  EXPECT_EQ(sled_site_count(), count_before);
  EXPECT_EQ(Stats().modules, modules_before);
  EXPECT_EQ(Stats().sites_found, count_before);
}

TEST(Discovery, RegisteredFilterAppliesToReopenedLibrary) {
  DlLibrary lib;
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("dl_func*@libfixdl*.so"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(lib.CallOne(1), 12);
  EXPECT_EQ(tracer.Count(lib.Symbol("dl_func_one")), 1u);

  lib.Close();
  // No site left that the filter names: a new filter naming them is -ENOENT.
  Tracer other;
  EXPECT_EQ(other.SetFilter("dl_func_one"), -ENOENT);

  lib.Open();
  tracer.Clear();
  EXPECT_EQ(lib.CallOne(2), 13);
  EXPECT_EQ(lib.CallTwo(3, 4), 25);
  EXPECT_EQ(lib.CallTwo(5, 6), 43);
  EXPECT_EQ(tracer.Count(lib.Symbol("dl_func_one")), 1u);
  EXPECT_EQ(tracer.Count(lib.Symbol("dl_func_two")), 2u);
  EXPECT_EQ(tracer.Total(), 3u);
  EXPECT_EQ(fix_add(1, 1), 2);  // not named by the filter
  EXPECT_EQ(tracer.Total(), 3u);
  EXPECT_EQ(tracer.Unregister(), 0);
}

TEST(Discovery, LibraryLoadedWhileAnotherThreadRunsIsTraceable) {
  // The new library's code cannot be running yet: its sites (GCC's 1-byte
  // NOPs included) are usable even though the process has other threads.
  std::promise<void> release;
  std::thread other([done = release.get_future()]() mutable { done.wait(); });
  DlLibrary lib;
  for (const char *name : {"dl_func_one", "dl_func_two"})
    EXPECT_EQ(SiteInfo(lib.Symbol(name)).refusal, SLED_SITE_OK) << name;
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("dl_func_one"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(lib.CallOne(5), 16);
  EXPECT_EQ(tracer.Total(), 1u);
  release.set_value();
  other.join();
}

TEST(Discovery, EmptyFilterCoversLibraryLoadedLater) {
  Tracer tracer;
  ASSERT_EQ(tracer.Register(), 0);
  DlLibrary lib;
  EXPECT_EQ(lib.CallOne(0), 11);
  EXPECT_EQ(tracer.Count(lib.Symbol("dl_func_one")), 1u);
  EXPECT_EQ(tracer.Unregister(), 0);
}

}  // namespace
}  // namespace sled_test
