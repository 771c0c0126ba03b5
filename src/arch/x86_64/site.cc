// x86_64 site shapes and pure encoders. Layout (-fpatchable-function-entry=13,8):
//
//   literal:  entry-8 .. entry-1   8 x 90 (compiled) | ops pointer (sled)
//   [entry:   f3 0f 1e fa]         endbr64 under -fcf-protection
//   patch:    5 bytes              90 90 90 90 90   (GCC, compiled)
//                                  0f 1f 44 00 xx   (clang compiled / disabled)
//                                  e8 rel32         (enabled)
//
// Nothing here writes memory or decides what a site should call.
#include <sys/mman.h>

#include <cstring>

#include "arch/arch.h"

namespace sled::arch {

const char *const kInstrumentFlags = "-fpatchable-function-entry=13,8 -falign-functions=16";

namespace {
constexpr uint8_t kEndbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
constexpr uint8_t kNop5[kInsnSize] = {0x0f, 0x1f, 0x44, 0x00, 0x00};

bool is_nop5(const uint8_t *p) {
  return p[0] == 0x0f && p[1] == 0x1f && p[2] == 0x44 && p[3] == 0x00;
}
bool all_0x90(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0x90) return false;
  return true;
}
}  // namespace

SiteShape classify_site(uintptr_t literal, const uint8_t *bytes) {
  SiteShape s;
  s.entry = literal + kLiteralSize;
  const uint8_t *entry = bytes + kLiteralSize;
  s.landing_pad = std::memcmp(entry, kEndbr64, sizeof kEndbr64) == 0;
  const uint8_t *patch = entry + (s.landing_pad ? sizeof kEndbr64 : 0);
  s.patch = s.entry + (s.landing_pad ? sizeof kEndbr64 : 0);
  if (is_nop5(patch)) {
    s.needs_normalize = false;
  } else if (all_0x90(patch, kInsnSize)) {
    s.needs_normalize = true;
    s.normalize_at = s.patch;
  } else {
    s.refusal = SLED_SITE_BAD_BYTES;
    return s;
  }
  if (!all_0x90(bytes, kLiteralSize)) {
    s.refusal = SLED_SITE_BAD_LITERAL;
    return s;
  }
  // The trampoline finds the literal as (body - 13) & ~7: that is only this
  // site's literal when the literal is 8-aligned.
  if (literal % 8 != 0) s.refusal = SLED_SITE_MISALIGNED;
  return s;
}

void encode_nop(uint8_t out[kInsnSize]) { std::memcpy(out, kNop5, kInsnSize); }

void encode_normalized(uint8_t out[kInsnSize]) { encode_nop(out); }

bool call_reaches(uintptr_t from_lo, uintptr_t from_hi, uintptr_t target) {
  // rel32 is relative to the end of the 5-byte call; keep a page of margin.
  constexpr int64_t kReach = (int64_t{1} << 31) - 4096;
  auto ok = [&](uintptr_t from) {
    int64_t d = static_cast<int64_t>(target) - static_cast<int64_t>(from + kInsnSize);
    return d > -kReach && d < kReach;
  };
  return ok(from_lo) && ok(from_hi);
}

bool encode_call(uintptr_t patch, uintptr_t target, uint8_t out[kInsnSize]) {
  if (!call_reaches(patch, patch, target)) return false;
  int32_t rel =
      static_cast<int32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(patch + kInsnSize));
  out[0] = 0xe8;
  std::memcpy(out + 1, &rel, sizeof rel);
  return true;
}

size_t encode_stub_jump(uintptr_t /*at*/, uintptr_t target, uint8_t out[kStubSlotSize]) {
  // jmp *0(%rip); .quad target  — position independent, reaches anywhere.
  const uint8_t jmp[6] = {0xff, 0x25, 0x00, 0x00, 0x00, 0x00};
  std::memcpy(out, jmp, sizeof jmp);
  std::memcpy(out + sizeof jmp, &target, sizeof target);
  std::memset(out + 14, 0xcc, kStubSlotSize - 14);
  return kStubSlotSize;
}

void encode_dyntramp(uintptr_t at, uintptr_t descriptor, uintptr_t body,
                     uint8_t out[kDynTrampSize]) {
  // movabs $descriptor, %r11; then the same absolute jump as a stub slot.
  out[0] = 0x49;
  out[1] = 0xbb;
  std::memcpy(out + 2, &descriptor, sizeof descriptor);
  encode_stub_jump(at + 10, body, out + 10);
  std::memset(out + 24, 0xcc, kDynTrampSize - 24);
}

int text_prot(int base_prot) { return base_prot; }

int module_text_prot_bits(uintptr_t, const void *, size_t) { return 0; }

// x86 (TSO): a plain aligned mov is atomic, stores are release and loads
// acquire; the "memory" clobber keeps the compiler from moving accesses.
void store_literal(uintptr_t literal, uintptr_t value) {
  asm volatile("movq %1, (%0)" : : "r"(literal), "r"(value) : "memory");
}

uintptr_t load_literal(uintptr_t literal) {
  uintptr_t value;
  asm volatile("movq (%1), %0" : "=r"(value) : "r"(literal) : "memory");
  return value;
}

}  // namespace sled::arch
