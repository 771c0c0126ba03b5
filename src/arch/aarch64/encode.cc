// Pure aarch64 encoders and site classifier (see encode.h). Layout
// (-fpatchable-function-entry=4,2 -falign-functions=8):
//
//   literal:  entry-8 .. entry-1   nop; nop (compiled) | ops pointer (sled)
//   [entry:   bti c]               under -mbranch-protection=bti/standard
//   entry+0:  mov x9, x30          nop as compiled; written once at init
//   patch:    entry+4              nop (disabled) | bl trampoline (enabled)
//
// Nothing here writes memory or decides what a site should call.
#include "arch/aarch64/encode.h"

#include "sled/sled.h"

namespace sled::a64 {

void put32(uint8_t *out, uint32_t w) {
  for (int i = 0; i < 4; i++) out[i] = static_cast<uint8_t>(w >> (8 * i));
}

uint32_t get32(const uint8_t *in) {
  return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}

void put64(uint8_t *out, uint64_t v) {
  for (int i = 0; i < 8; i++) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

bool bl_reaches(uintptr_t from_lo, uintptr_t from_hi, uintptr_t target) {
  constexpr int64_t kReach = (int64_t{1} << 27) - 4096;
  auto ok = [&](uintptr_t from) {
    int64_t d = static_cast<int64_t>(target - from);
    return d > -kReach && d < kReach;
  };
  return ok(from_lo) && ok(from_hi);
}

bool encode_bl(uintptr_t pc, uintptr_t target, uint32_t *out) {
  if (!bl_reaches(pc, pc, target) || (target - pc) % 4 != 0) return false;
  int64_t d = static_cast<int64_t>(target - pc);
  *out = 0x94000000u | (static_cast<uint32_t>(d >> 2) & 0x03ffffffu);
  return true;
}

bool decode_bl(uintptr_t pc, uint32_t word, uintptr_t *target) {
  if ((word & 0xfc000000u) != 0x94000000u) return false;
  int64_t imm = word & 0x03ffffffu;
  if (imm & 0x02000000) imm -= 0x04000000;  // sign-extend imm26
  *target = pc + static_cast<uintptr_t>(imm * 4);
  return true;
}

uint32_t encode_ldr_literal(unsigned rt, int32_t offset) {
  return 0x58000000u | ((static_cast<uint32_t>(offset / 4) & 0x7ffffu) << 5) | (rt & 31);
}

void encode_stub(uintptr_t target, uint8_t out[kStubSize]) {
  // x16 (IP0) is the scratch register the ABI lets veneers clobber; the
  // trampolines start with `bti c`, which `br x16` may land on.
  put32(out, encode_ldr_literal(16, 8));
  put32(out + 4, kBr16);
  put64(out + 8, target);
}

void encode_dyn(uintptr_t descriptor, uintptr_t body, uint8_t out[kDynSize]) {
  // x16 carries the descriptor into the shared body (x86: r11), x17 the jump.
  put32(out, encode_ldr_literal(16, 16));
  put32(out + 4, encode_ldr_literal(17, 20));
  put32(out + 8, kBr17);
  put32(out + 12, kUdf0);
  put64(out + 16, descriptor);
  put64(out + 24, body);
}

Shape classify(uintptr_t literal, const uint8_t *bytes) {
  Shape s;
  s.entry = literal + 8;
  const uint8_t *entry = bytes + 8;
  s.bti = get32(entry) == kBtiC;
  size_t off = s.bti ? 4 : 0;
  uint32_t first = get32(entry + off);
  uint32_t patch = get32(entry + off + 4);
  s.patch = s.entry + off + 4;
  if (patch != kNop || (first != kNop && first != kMovX9X30)) {
    s.refusal = Shape::kBadBytes;
    return s;
  }
  if (first == kNop) {
    s.needs_normalize = true;
    s.normalize_at = s.entry + off;
  }
  if (get32(bytes) != kNop || get32(bytes + 4) != kNop) {
    s.refusal = Shape::kBadLiteral;
    return s;
  }
  // The trampoline finds the literal as (x30 & ~7) - 16: only this site's
  // literal when the literal is 8-aligned.
  if (literal % 8 != 0) s.refusal = Shape::kMisaligned;
  return s;
}

int site_refusal(Shape::Refusal refusal) {
  switch (refusal) {
    case Shape::kOk:
      return SLED_SITE_OK;
    case Shape::kBadBytes:
      return SLED_SITE_BAD_BYTES;
    case Shape::kBadLiteral:
      return SLED_SITE_BAD_LITERAL;
    case Shape::kMisaligned:
      return SLED_SITE_MISALIGNED;
  }
  return SLED_SITE_BAD_BYTES;  // not reached: every Refusal is named above
}

}  // namespace sled::a64
