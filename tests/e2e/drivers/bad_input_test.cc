// bad_input_test.cc — sled refuses the malformed sites of libfixbad.so
// (fixtures/bad_sites.S) and reports why with the bytes it found; asking to
// trace them fails with a message naming the function and patches nothing;
// API misuse returns the documented codes; the host and other tracing keep
// working throughout.
#include <gtest/gtest.h>

#include <cstring>
#include <initializer_list>
#include <vector>

#include "fix_main.h"
#include "sled_test_support.h"

extern "C" {
int bad_entry_func(int);
int bad_literal_func(int);
int bad_misaligned_func(int);
}

namespace sled_test {
namespace {

struct BadSite {
  const char *name;
  uintptr_t ip;
  int refusal;
  std::vector<uint8_t> bytes;  // literal .. entry+8 as assembled
};

// The words of an instruction stream, as little-endian bytes.
std::vector<uint8_t> Words(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> out;
  for (uint32_t w : words)
    for (int i = 0; i < 4; i++) out.push_back(static_cast<uint8_t>(w >> (8 * i)));
  return out;
}

// The sites as fixtures/bad_sites.S assembles them on each architecture.
std::vector<BadSite> BadSites() {
#if defined(__aarch64__)
  const uint32_t nop = 0xd503201f;
  const uint32_t deadbeef = 0xefbeadde;  // de ad be ef in memory
  return {
      {"bad_entry_func", Addr(&bad_entry_func), SLED_SITE_BAD_BYTES,
       Words({nop, nop, 0xa9bf7bfd /* stp x29, x30, [sp, #-16]! */,
              0x11000400 /* add w0, w0, #1 */})},
      {"bad_literal_func", Addr(&bad_literal_func), SLED_SITE_BAD_LITERAL,
       Words({deadbeef, deadbeef, nop, nop})},
      {"bad_misaligned_func", Addr(&bad_misaligned_func), SLED_SITE_MISALIGNED,
       Words({nop, nop, nop, nop})},
  };
#else
  const uint8_t n = 0x90;
  return {
      {"bad_entry_func",
       Addr(&bad_entry_func),
       SLED_SITE_BAD_BYTES,
       {n, n, n, n, n, n, n, n, 0x55, 0x48, 0x89, 0xe5, 0x8d, 0x47, 0x01, 0x5d}},
      {"bad_literal_func",
       Addr(&bad_literal_func),
       SLED_SITE_BAD_LITERAL,
       {0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x8d, 0x47,
        0x02}},
      {"bad_misaligned_func",
       Addr(&bad_misaligned_func),
       SLED_SITE_MISALIGNED,
       {n, n, n, n, n, n, n, n, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x8d, 0x47, 0x03}},
  };
#endif
}

std::vector<uint8_t> BytesAround(uintptr_t ip) {
  const uint8_t *p = reinterpret_cast<const uint8_t *>(ip - 8);
  return std::vector<uint8_t>(p, p + 16);
}

void ExpectBadFunctionsWork() {
  EXPECT_EQ(bad_entry_func(1), 2);
  EXPECT_EQ(bad_literal_func(1), 3);
  EXPECT_EQ(bad_misaligned_func(1), 4);
}

TEST(BadInput, RefusedSitesAreReportedWithTheBytesFound) {
  for (const BadSite &site : BadSites()) {
    sled_site_info info{};
    ASSERT_EQ(sled_site_lookup(site.ip, &info), 0) << site.name;
    EXPECT_STREQ(info.name, site.name);
    EXPECT_STREQ(info.module, "libfixbad.so");
    EXPECT_EQ(info.refusal, site.refusal) << site.name;
    EXPECT_EQ(info.enabled, 0);
    EXPECT_EQ(std::vector<uint8_t>(info.bytes, info.bytes + 16), site.bytes) << site.name;
    EXPECT_EQ(BytesAround(site.ip), site.bytes) << site.name;
  }
  // A data symbol: looked up in the library itself (an executable's
  // reference would give the address of a copy relocation).
  uintptr_t data_site = LibrarySymbol("libfixbad.so", "bad_data_site");
  ASSERT_NE(data_site, 0u);
  sled_site_info info{};
  ASSERT_EQ(sled_site_lookup(data_site, &info), 0);
  EXPECT_EQ(info.refusal, SLED_SITE_OUT_OF_SEGMENT);
  EXPECT_STREQ(info.module, "libfixbad.so");
}

TEST(BadInput, StatsCountEachRefusalReason) {
  sled_stats stats = Stats();
  EXPECT_EQ(stats.refused_by_reason[SLED_SITE_BAD_BYTES], 1u);
  EXPECT_EQ(stats.refused_by_reason[SLED_SITE_BAD_LITERAL], 1u);
  EXPECT_EQ(stats.refused_by_reason[SLED_SITE_MISALIGNED], 1u);
  EXPECT_EQ(stats.refused_by_reason[SLED_SITE_OUT_OF_SEGMENT], 1u);
  EXPECT_EQ(stats.sites_refused, 4u);
  EXPECT_EQ(stats.killed, 0);
}

TEST(BadInput, TracingOnlyRefusedSitesFailsAndPatchesNothing) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  const uint64_t enabled = Stats().sites_enabled;
  for (const BadSite &site : BadSites()) {
    int rc = tracer.SetFilter(site.name);
    EXPECT_LT(rc, 0) << site.name;
    ASSERT_NE(sled_last_error(), nullptr);
    EXPECT_NE(std::strstr(sled_last_error(), site.name), nullptr)
        << site.name << ": " << sled_last_error();
    EXPECT_EQ(BytesAround(site.ip), site.bytes) << site.name;
    EXPECT_EQ(Stats().sites_enabled, enabled) << site.name;
    // The failed call left the filter as it was.
    tracer.Clear();
    EXPECT_EQ(fix_add(2, 3), 5);
    EXPECT_EQ(tracer.Count(Addr(&fix_add)), 1u) << site.name;
  }
  ExpectBadFunctionsWork();
  EXPECT_EQ(tracer.Total(), 1u);
  EXPECT_EQ(Stats().killed, 0);
}

TEST(BadInput, EmptyFilterSkipsRefusedSites) {
  std::vector<std::vector<uint8_t>> before;
  for (const BadSite &site : BadSites()) before.push_back(BytesAround(site.ip));
  Tracer tracer;
  ASSERT_EQ(tracer.Register(), 0);
  sled_stats stats = Stats();
  EXPECT_EQ(stats.sites_enabled, stats.sites_found - stats.sites_refused);
  size_t i = 0;
  for (const BadSite &site : BadSites()) EXPECT_EQ(BytesAround(site.ip), before[i++]) << site.name;
  ExpectBadFunctionsWork();
  EXPECT_EQ(fix_mul(3, 3), 9);
  EXPECT_EQ(tracer.Count(Addr(&fix_mul)), 1u);
  EXPECT_EQ(tracer.Total(), 1u);
}

TEST(BadInput, ApiMisuseReturnsTheDocumentedCodes) {
  Tracer tracer;
  ASSERT_EQ(tracer.SetFilter("fix_add"), 0);
  ASSERT_EQ(tracer.Register(), 0);
  EXPECT_EQ(tracer.Register(), -EEXIST);

  Tracer never_registered;
  EXPECT_EQ(never_registered.Unregister(), -ENOENT);
  EXPECT_EQ(sled_register_ops(nullptr), -EINVAL);
  sled_ops no_func{};
  EXPECT_EQ(sled_register_ops(&no_func), -EINVAL);
  EXPECT_LT(sled_unregister_ops(nullptr), 0);
  EXPECT_LT(sled_set_filter(nullptr, "fix_add", 1), 0);
  EXPECT_LT(sled_set_notrace(nullptr, "fix_add", 1), 0);
  EXPECT_LT(sled_get_stats(nullptr), 0);
  EXPECT_LT(sled_set_strategy("no_such_strategy"), 0);
  EXPECT_LT(sled_set_strategy(nullptr), 0);
  EXPECT_STREQ(sled_get_strategy(), "callops");

  // Still registered once, still tracing.
  EXPECT_EQ(fix_add(1, 1), 2);
  EXPECT_EQ(tracer.Total(), 1u);
  EXPECT_EQ(tracer.Unregister(), 0);
  EXPECT_EQ(tracer.Unregister(), -ENOENT);
}

}  // namespace
}  // namespace sled_test
