// x86_64 sizes of the arch contract (included by arch/arch.h only).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sled::arch {
// Bytes of the per-site literal that precedes the function entry.
inline constexpr size_t kLiteralSize = 8;
// Bytes of the live-toggled instruction at the patch location.
inline constexpr size_t kInsnSize = 5;
// How many bytes from the literal on classify_site() wants to see.
inline constexpr size_t kSiteWindow = kLiteralSize + 4 + kInsnSize;  // literal, endbr64, insn
// Distance from the entry (after a landing pad) to the patch instruction.
inline constexpr size_t kPatchOffset = 0;
// Largest distance from the entry to the end of the patch instruction.
inline constexpr size_t kPatchEndMax = 4 + kInsnSize;
// Bytes of a never-enabled site's NOP that identify it (clang's 5-byte NOP
// has a displacement byte of 8, sled's 0).
inline constexpr size_t kNopCompareBytes = kInsnSize - 1;
// The literal as the compiler leaves it: eight 1-byte NOPs.
inline constexpr uint64_t kCompiledLiteral = 0x9090909090909090ull;
// Filler byte of code pages sled maps (int3).
inline constexpr uint8_t kTrapFillByte = 0xcc;
// A near stub slot and a generated trampoline.
inline constexpr size_t kStubSlotSize = 16;
inline constexpr size_t kDynTrampSize = 32;
}  // namespace sled::arch
