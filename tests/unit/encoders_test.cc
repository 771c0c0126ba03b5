// Golden bytes of the x86_64 encoders and the site classifier.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "arch/arch.h"

using namespace sled::arch;

namespace {
using Bytes = std::array<uint8_t, kInsnSize>;

Bytes call_bytes(uintptr_t patch, uintptr_t target) {
  Bytes b{};
  EXPECT_TRUE(encode_call(patch, target, b.data()));
  return b;
}

TEST(X86Encoders, NopIsTheFiveByteNop) {
  Bytes b{};
  encode_nop(b.data());
  EXPECT_EQ(b, (Bytes{0x0f, 0x1f, 0x44, 0x00, 0x00}));
}

TEST(X86Encoders, CallForwardAndBackward) {
  EXPECT_EQ(call_bytes(0x1000, 0x2000), (Bytes{0xe8, 0xfb, 0x0f, 0x00, 0x00}));
  EXPECT_EQ(call_bytes(0x2000, 0x1000), (Bytes{0xe8, 0xfb, 0xef, 0xff, 0xff}));
  EXPECT_EQ(call_bytes(0x1000, 0x1005), (Bytes{0xe8, 0x00, 0x00, 0x00, 0x00}));
}

TEST(X86Encoders, CallOutOfReachIsRefused) {
  Bytes b{};
  EXPECT_FALSE(encode_call(0x1000, 0x1000 + (uintptr_t{1} << 32), b.data()));
  EXPECT_FALSE(encode_call(uintptr_t{0x7f0000000000}, 0x1000, b.data()));
  EXPECT_TRUE(call_reaches(0x10000000, 0x10001000, 0x10000000 + (uintptr_t{1} << 30)));
  EXPECT_FALSE(call_reaches(0x10000000, 0x90001000, 0x10000000));
}

TEST(X86Encoders, StubJumpIsRipIndirect) {
  uint8_t b[kStubSlotSize];
  encode_stub_jump(0x5000, 0x1122334455667788, b);
  const uint8_t want[kStubSlotSize] = {0xff, 0x25, 0,    0,    0,    0,    0x88, 0x77,
                                       0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xcc, 0xcc};
  EXPECT_EQ(0, std::memcmp(b, want, sizeof want));
}

struct Window {
  alignas(16) uint8_t bytes[kSiteWindow];
};

Window make(std::initializer_list<uint8_t> literal, std::initializer_list<uint8_t> entry) {
  Window w{};
  std::memset(w.bytes, 0xc3, sizeof w.bytes);
  std::copy(literal.begin(), literal.end(), w.bytes);
  std::copy(entry.begin(), entry.end(), w.bytes + kLiteralSize);
  return w;
}

const std::initializer_list<uint8_t> kNops8 = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};

TEST(X86Classify, ClangForm) {
  Window w = make(kNops8, {0x0f, 0x1f, 0x44, 0x00, 0x08});
  SiteShape s = classify_site(0x1000, w.bytes);
  EXPECT_EQ(s.refusal, SLED_SITE_OK);
  EXPECT_EQ(s.entry, 0x1008u);
  EXPECT_EQ(s.patch, 0x1008u);
  EXPECT_FALSE(s.landing_pad);
  EXPECT_FALSE(s.needs_normalize);
}

TEST(X86Classify, GccFormWithEndbr) {
  Window w = make(kNops8, {0xf3, 0x0f, 0x1e, 0xfa, 0x90, 0x90, 0x90, 0x90, 0x90});
  SiteShape s = classify_site(0x2000, w.bytes);
  EXPECT_EQ(s.refusal, SLED_SITE_OK);
  EXPECT_EQ(s.entry, 0x2008u);
  EXPECT_EQ(s.patch, 0x200cu);
  EXPECT_TRUE(s.landing_pad);
  EXPECT_TRUE(s.needs_normalize);
}

TEST(X86Classify, Refusals) {
  EXPECT_EQ(classify_site(0x1000, make(kNops8, {0x55, 0x48, 0x89, 0xe5, 0x90}).bytes).refusal,
            SLED_SITE_BAD_BYTES);
  EXPECT_EQ(classify_site(0x1000, make(kNops8, {0xe8, 0, 0, 0, 0}).bytes).refusal,
            SLED_SITE_BAD_BYTES);
  EXPECT_EQ(classify_site(0x1000, make({0x90, 0x90, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90},
                                       {0x0f, 0x1f, 0x44, 0x00, 0x00})
                                      .bytes)
                .refusal,
            SLED_SITE_BAD_LITERAL);
  EXPECT_EQ(classify_site(0x1004, make(kNops8, {0x0f, 0x1f, 0x44, 0x00, 0x00}).bytes).refusal,
            SLED_SITE_MISALIGNED);
}

}  // namespace
