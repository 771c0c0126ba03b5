// kill_switch_test.cc — its own executable, as the kill switch is
// process-wide: a site whose entry bytes were changed behind sled's back
// (after sled scanned it) makes the next patch attempt fail without writing,
// switches patching off for good (stats.killed), and leaves the process
// running with its code as it was.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

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

TEST(KillSwitch, ForeignBytesStopPatchingForGood) {
  ASSERT_GT(sled_site_count(), 0u);  // sled has scanned the sites
  ASSERT_EQ(SiteInfo(Addr(&gl_banana_split)).refusal, SLED_SITE_OK);
  uint8_t *entry = const_cast<uint8_t *>(PatchBytes(Addr(&gl_banana_split)));
  OverwriteBehindSledsBack(entry);
  EXPECT_EQ(gl_banana_split(1), 5);

  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("gl_banana_split"), 0);
  int rc = tracer.Register();
  EXPECT_LT(rc, 0);
  EXPECT_EQ(std::memcmp(entry, kGarbage, sizeof kGarbage), 0);
  ASSERT_NE(sled_last_error(), nullptr);
  EXPECT_NE(std::strstr(sled_last_error(), "gl_banana_split"), nullptr) << sled_last_error();
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
  EXPECT_EQ(gl_banana_split(2), 15);
  EXPECT_EQ(std::memcmp(entry, kGarbage, sizeof kGarbage), 0);
  EXPECT_EQ(Stats().killed, 1);
  EXPECT_EQ(WritableExecutableMapping(), "");
}

}  // namespace
}  // namespace sled_test
