// aarch64 sizes of the arch contract (included by arch/arch.h only).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sled::arch {
// Bytes of the per-site literal that precedes the function entry.
inline constexpr size_t kLiteralSize = 8;
// Bytes of the live-toggled instruction (entry+4, entry+8 with BTI).
inline constexpr size_t kInsnSize = 4;
// What classify_site() wants to see: literal, bti c, mov x9 x30, the patch.
inline constexpr size_t kSiteWindow = kLiteralSize + 4 + 4 + kInsnSize;
// Distance from the entry (after bti c) to the patch instruction: entry+0
// holds `mov x9, x30`.
inline constexpr size_t kPatchOffset = 4;
// Largest distance from the entry to the end of the patch instruction.
inline constexpr size_t kPatchEndMax = 4 + 4 + kInsnSize;
// A NOP is one exact word.
inline constexpr size_t kNopCompareBytes = kInsnSize;
// The literal as the compiler leaves it: two NOPs (d503201f).
inline constexpr uint64_t kCompiledLiteral = 0xd503201fd503201full;
// Filler byte of code pages sled maps (0x00000000 is `udf #0`).
inline constexpr uint8_t kTrapFillByte = 0x00;
// A near stub slot (ldr x16, #8; br x16; .quad) and a generated trampoline.
inline constexpr size_t kStubSlotSize = 16;
inline constexpr size_t kDynTrampSize = 32;
}  // namespace sled::arch
