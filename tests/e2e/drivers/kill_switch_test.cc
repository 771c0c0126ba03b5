// kill_switch_test.cc — its own executable, as the kill switch is
// process-wide: a site whose entry bytes were changed behind sled's back
// (after sled scanned it) makes the next patch attempt fail without writing
// (not even the sites checked before it in the batch), switches patching off
// for good (stats.killed), and leaves the process running with its code as
// it was.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "fix_main.h"
#include "sled_test_support.h"

namespace sled_test {
namespace {

// Garbage that is no NOP form and harmless to execute:
#if defined(__aarch64__)
const uint8_t kGarbage[4] = {0xe9, 0x03, 0x09, 0xaa};  // mov x9, x9
#else
const uint8_t kGarbage[5] = {0x48, 0x89, 0xc0, 0x90, 0x90};  // mov %rax,%rax; nop; nop (no 0xcc)
#endif

void OverwriteBehindSledsBack(uint8_t *where) {
  const uintptr_t page = sysconf(_SC_PAGESIZE);
  uintptr_t start = reinterpret_cast<uintptr_t>(where) & ~(page - 1);
  size_t length = reinterpret_cast<uintptr_t>(where) + sizeof kGarbage - start;
  void *p = reinterpret_cast<void *>(start);
  ASSERT_EQ(mprotect(p, length, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
  std::memcpy(where, kGarbage, sizeof kGarbage);
  ASSERT_EQ(mprotect(p, length, PROT_READ | PROT_EXEC), 0);
}

// The literal and instruction bytes around a site: [entry - 8, patch + insn).
using Window = std::array<uint8_t, 24>;
Window WindowAt(uintptr_t ip) {
  Window w;
  std::memcpy(w.data(), reinterpret_cast<const void *>(ip - 8), w.size());
  return w;
}

TEST(KillSwitch, ForeignBytesStopPatchingForGood) {
  ASSERT_GT(sled_site_count(), 0u);  // sled has scanned the sites
  // The batch of "gl_*" checks its sites in address order: the foreign
  // bytes go in the middle one, so that sites before it were checked (and
  // must still not be written) and sites after it were not.
  struct Fn {
    int (*fn)(int);
    const char *name;
    int factor;
  };
  std::vector<Fn> fns = {{gl_apple, "gl_apple", 1},
                         {gl_apple_pie, "gl_apple_pie", 2},
                         {gl_cherry_pie, "gl_cherry_pie", 3},
                         {gl_berry_tart, "gl_berry_tart", 4},
                         {gl_banana_split, "gl_banana_split", 5}};
  std::sort(fns.begin(), fns.end(),
            [](const Fn &a, const Fn &b) { return Addr(a.fn) < Addr(b.fn); });
  const Fn middle = fns[fns.size() / 2];
  ASSERT_EQ(SiteInfo(Addr(middle.fn)).refusal, SLED_SITE_OK);
  uint8_t *entry = const_cast<uint8_t *>(PatchBytes(Addr(middle.fn)));
  OverwriteBehindSledsBack(entry);
  EXPECT_EQ(middle.fn(1), middle.factor);
  std::vector<Window> before;
  for (const Fn &f : fns) before.push_back(WindowAt(Addr(f.fn)));

  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("gl_*"), 0);
  int rc = tracer.Register();
  EXPECT_LT(rc, 0);
  EXPECT_EQ(std::memcmp(entry, kGarbage, sizeof kGarbage), 0);
  for (size_t i = 0; i < fns.size(); i++) {
    EXPECT_EQ(WindowAt(Addr(fns[i].fn)), before[i]) << fns[i].name;  // nothing written
    if (fns[i].fn != middle.fn) EXPECT_TRUE(IsSiteNop(PatchBytes(Addr(fns[i].fn)))) << fns[i].name;
  }
  ASSERT_NE(sled_last_error(), nullptr);
  EXPECT_NE(std::strstr(sled_last_error(), middle.name), nullptr) << sled_last_error();
  sled_stats stats = Stats();
  EXPECT_EQ(stats.killed, 1);
  EXPECT_GE(stats.patch_failures, 1u);
  EXPECT_EQ(stats.sites_enabled, 0u);

  // Patching stays off: a valid site cannot be traced any more.
  Tracer later;
  ASSERT_EQ(later.SetFilter("fix_add"), 0);
  EXPECT_LT(later.Register(), 0);
  EXPECT_EQ(fix_add(2, 5), 7);
  EXPECT_EQ(later.Total(), 0u);
  EXPECT_TRUE(IsSiteNop(PatchBytes(Addr(&fix_add))));

  // The process keeps running, its code unchanged.
  EXPECT_EQ(middle.fn(2), 3 * middle.factor);
  EXPECT_EQ(tracer.Total(), 0u);
  EXPECT_EQ(std::memcmp(entry, kGarbage, sizeof kGarbage), 0);
  EXPECT_EQ(Stats().killed, 1);
  EXPECT_EQ(WritableExecutableMapping(), "");
}

}  // namespace
}  // namespace sled_test
