// Golden bytes of the aarch64 encoders and site classifier
// (src/arch/aarch64/encode.cc), on every host: the encoders are pure C++.
// Expected words were checked against GNU as (aarch64-linux-gnu-as).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "arch/aarch64/encode.h"
#include "sled/sled.h"

namespace {
using namespace sled::a64;

uint32_t bl(uintptr_t pc, uintptr_t target) {
  uint32_t w = 0;
  EXPECT_TRUE(encode_bl(pc, target, &w));
  return w;
}

TEST(EncodersAarch64, FixedWords) {
  EXPECT_EQ(kNop, 0xd503201fu);
  EXPECT_EQ(kMovX9X30, 0xaa1e03e9u);  // mov x9, x30
  EXPECT_EQ(kBtiC, 0xd503245fu);
  EXPECT_EQ(kBr16, 0xd61f0200u);
  EXPECT_EQ(kBr17, 0xd61f0220u);
  uint8_t b[4];
  put32(b, kNop);
  EXPECT_EQ((std::array<uint8_t, 4>{b[0], b[1], b[2], b[3]}),
            (std::array<uint8_t, 4>{0x1f, 0x20, 0x03, 0xd5}));  // little-endian
  EXPECT_EQ(get32(b), kNop);
}

TEST(EncodersAarch64, Bl) {
  EXPECT_EQ(bl(0x1000, 0x2000), 0x94000400u);  // bl .+0x1000
  EXPECT_EQ(bl(0x2000, 0x1000), 0x97fffc00u);  // bl .-0x1000
  EXPECT_EQ(bl(0x1000, 0x1000), 0x94000000u);
  EXPECT_EQ(bl(0x1000, 0x1004), 0x94000001u);
  uintptr_t t = 0;
  EXPECT_TRUE(decode_bl(0x2000, 0x97fffc00u, &t));
  EXPECT_EQ(t, 0x1000u);
  EXPECT_FALSE(decode_bl(0x2000, kNop, &t));
  uint32_t w;
  EXPECT_FALSE(encode_bl(0x1000, 0x1002, &w));  // not word-aligned
}

TEST(EncodersAarch64, Reach) {
  const uintptr_t base = 0x400000000;
  EXPECT_TRUE(bl_reaches(base, base, base + (uintptr_t{1} << 27) - 8192));
  EXPECT_FALSE(bl_reaches(base, base, base + (uintptr_t{1} << 27)));
  EXPECT_TRUE(bl_reaches(base, base, base - (uintptr_t{1} << 27) + 8192));
  EXPECT_FALSE(bl_reaches(base, base, base - (uintptr_t{1} << 27)));
  EXPECT_FALSE(bl_reaches(base, base + (uintptr_t{1} << 28), base));
  uint32_t w;
  EXPECT_FALSE(encode_bl(base, base + (uintptr_t{1} << 30), &w));
}

TEST(EncodersAarch64, LdrLiteral) {
  EXPECT_EQ(encode_ldr_literal(16, 8), 0x58000050u);   // ldr x16, .+8
  EXPECT_EQ(encode_ldr_literal(16, 16), 0x58000090u);  // ldr x16, .+16
  EXPECT_EQ(encode_ldr_literal(17, 20), 0x580000b1u);  // ldr x17, .+20
}

TEST(EncodersAarch64, StubJump) {
  uint8_t b[kStubSize];
  encode_stub(0x1122334455667788, b);
  const uint8_t want[kStubSize] = {0x50, 0x00, 0x00, 0x58, 0x00, 0x02, 0x1f, 0xd6,
                                   0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  EXPECT_EQ(std::memcmp(b, want, sizeof want), 0);
}

TEST(EncodersAarch64, DynTramp) {
  uint8_t b[kDynSize];
  encode_dyn(0x1111222233334444, 0x5555666677778888, b);
  const uint8_t want[kDynSize] = {0x90, 0x00, 0x00, 0x58,  // ldr x16, .+16  (descriptor)
                                  0xb1, 0x00, 0x00, 0x58,  // ldr x17, .+20  (body)
                                  0x20, 0x02, 0x1f, 0xd6,  // br x17
                                  0x00, 0x00, 0x00, 0x00,  // udf #0
                                  0x44, 0x44, 0x33, 0x33, 0x22, 0x22, 0x11, 0x11,
                                  0x88, 0x88, 0x77, 0x77, 0x66, 0x66, 0x55, 0x55};
  EXPECT_EQ(std::memcmp(b, want, sizeof want), 0);
}

std::vector<uint8_t> window(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> v(kWindow + 4, 0);
  size_t i = 0;
  for (uint32_t w : words) put32(v.data() + 4 * i++, w);
  return v;
}

TEST(EncodersAarch64, ClassifyCompiled) {
  auto w = window({kNop, kNop, kNop, kNop, 0xa9bf7bfd});
  Shape s = classify(0x1000, w.data());
  EXPECT_EQ(s.refusal, Shape::kOk);
  EXPECT_FALSE(s.bti);
  EXPECT_EQ(s.entry, 0x1008u);
  EXPECT_EQ(s.patch, 0x100cu);
  EXPECT_TRUE(s.needs_normalize);
  EXPECT_EQ(s.normalize_at, 0x1008u);
}

TEST(EncodersAarch64, ClassifyNormalizedAndBti) {
  Shape s = classify(0x1000, window({kNop, kNop, kMovX9X30, kNop}).data());
  EXPECT_EQ(s.refusal, Shape::kOk);
  EXPECT_FALSE(s.needs_normalize);
  s = classify(0x1000, window({kNop, kNop, kBtiC, kNop, kNop}).data());
  EXPECT_EQ(s.refusal, Shape::kOk);
  EXPECT_TRUE(s.bti);
  EXPECT_EQ(s.patch, 0x1010u);
  EXPECT_EQ(s.normalize_at, 0x100cu);
  // The literal is (x30 & ~7) - 16 in both layouts: x30 = patch + 4.
  EXPECT_EQ(((0x1010u + 4) & ~7u) - 16, 0x1000u);
  EXPECT_EQ(((0x100cu + 4) & ~7u) - 16, 0x1000u);
}

TEST(EncodersAarch64, ClassifyRefusals) {
  EXPECT_EQ(classify(0x1000, window({kNop, kNop, 0xa9bf7bfd, kNop}).data()).refusal,
            Shape::kBadBytes);
  EXPECT_EQ(classify(0x1000, window({kNop, kNop, kMovX9X30, 0x94000000}).data()).refusal,
            Shape::kBadBytes);
  EXPECT_EQ(classify(0x1000, window({0xd65f03c0, kNop, kNop, kNop}).data()).refusal,
            Shape::kBadLiteral);
  EXPECT_EQ(classify(0x1004, window({kNop, kNop, kNop, kNop}).data()).refusal, Shape::kMisaligned);
}

// The one mapping onto the public codes, shared by the runtime and `sled
// sites`: each refusal keeps the name the runtime reports.
TEST(EncodersAarch64, RefusalCodes) {
  EXPECT_EQ(site_refusal(Shape::kOk), SLED_SITE_OK);
  EXPECT_EQ(site_refusal(Shape::kBadBytes), SLED_SITE_BAD_BYTES);
  EXPECT_EQ(site_refusal(Shape::kBadLiteral), SLED_SITE_BAD_LITERAL);
  EXPECT_EQ(site_refusal(Shape::kMisaligned), SLED_SITE_MISALIGNED);
}

}  // namespace
