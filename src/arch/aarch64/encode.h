// Pure aarch64 encoders and the site classifier, free of arm64-only
// intrinsics and of arch.h, so they build (and are golden-byte tested) on
// any host. site.cc maps the arch contract onto them on aarch64. Instruction
// words are written little-endian whatever the host's byte order.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sled::a64 {

inline constexpr uint32_t kNop = 0xd503201f;
inline constexpr uint32_t kMovX9X30 = 0xaa1e03e9;  // orr x9, xzr, x30
inline constexpr uint32_t kBtiC = 0xd503245f;      // hint #34
inline constexpr uint32_t kBtiJc = 0xd50324df;     // hint #38
inline constexpr uint32_t kBr16 = 0xd61f0200;      // br x16
inline constexpr uint32_t kBr17 = 0xd61f0220;      // br x17
inline constexpr uint32_t kUdf0 = 0x00000000;      // udf #0

inline constexpr size_t kStubSize = 16;  // ldr x16, #8; br x16; .quad target
inline constexpr size_t kDynSize = 32;   // ldr x16, #16; ldr x17, #20; br x17; udf; .quad x2
inline constexpr size_t kWindow = 20;    // literal, bti c, mov x9 x30, patch

void put32(uint8_t *out, uint32_t word);
uint32_t get32(const uint8_t *in);
void put64(uint8_t *out, uint64_t v);

// `bl` reaches +-128 MiB from the instruction; a page of margin is kept.
bool bl_reaches(uintptr_t from_lo, uintptr_t from_hi, uintptr_t target);
// False when out of reach.
bool encode_bl(uintptr_t pc, uintptr_t target, uint32_t *out);
// Whether `word` at `pc` is a bl, and where to.
bool decode_bl(uintptr_t pc, uint32_t word, uintptr_t *target);
// `ldr xt, #offset` (PC-relative literal load), offset a multiple of 4.
uint32_t encode_ldr_literal(unsigned rt, int32_t offset);

void encode_stub(uintptr_t target, uint8_t out[kStubSize]);
void encode_dyn(uintptr_t descriptor, uintptr_t body, uint8_t out[kDynSize]);

// Refusals are this file's own; site_refusal() names them with sled.h's
// SLED_SITE_* codes (plain C constants, the same on every host).
struct Shape {
  uintptr_t entry = 0, patch = 0, normalize_at = 0;
  bool bti = false;
  bool needs_normalize = false;
  enum Refusal { kOk, kBadBytes, kBadLiteral, kMisaligned } refusal = kOk;
};
// `bytes`: kWindow bytes from the literal at address `literal`.
Shape classify(uintptr_t literal, const uint8_t *bytes);
// The SLED_SITE_* code of a refusal: the one mapping, used by the runtime
// (site.cc) and by `sled sites` reading an aarch64 file on any host.
int site_refusal(Shape::Refusal refusal);

}  // namespace sled::a64
