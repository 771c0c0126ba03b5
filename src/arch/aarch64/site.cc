// aarch64 arch contract: site shapes and encoders (mapped onto the pure,
// host-testable encode.cc), the literal accesses, and protection bits
// (PROT_BTI). Nothing here writes text or decides what a site should call.
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include <cstring>

#include "arch/aarch64/encode.h"
#include "arch/arch.h"

#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif
#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1 << 17)
#endif
#ifndef GNU_PROPERTY_AARCH64_FEATURE_1_AND
#define GNU_PROPERTY_AARCH64_FEATURE_1_AND 0xc0000000
#endif
#ifndef GNU_PROPERTY_AARCH64_FEATURE_1_BTI
#define GNU_PROPERTY_AARCH64_FEATURE_1_BTI 1u
#endif
#ifndef PT_GNU_PROPERTY
#define PT_GNU_PROPERTY 0x6474e553
#endif

namespace sled::arch {

const char *const kInstrumentFlags = "-fpatchable-function-entry=4,2 -falign-functions=8";

static_assert(kSiteWindow == a64::kWindow);
static_assert(kStubSlotSize == a64::kStubSize);
static_assert(kDynTrampSize == a64::kDynSize);

SiteShape classify_site(uintptr_t literal, const uint8_t *bytes) {
  a64::Shape a = a64::classify(literal, bytes);
  SiteShape s;
  s.entry = a.entry;
  s.patch = a.patch;
  s.landing_pad = a.bti;
  s.needs_normalize = a.needs_normalize;
  s.normalize_at = a.normalize_at;
  s.refusal = a64::site_refusal(a.refusal);
  return s;
}

void encode_nop(uint8_t out[kInsnSize]) { a64::put32(out, a64::kNop); }

void encode_normalized(uint8_t out[kInsnSize]) { a64::put32(out, a64::kMovX9X30); }

bool call_reaches(uintptr_t from_lo, uintptr_t from_hi, uintptr_t target) {
  return a64::bl_reaches(from_lo, from_hi, target);
}

bool encode_call(uintptr_t patch, uintptr_t target, uint8_t out[kInsnSize]) {
  uint32_t w;
  if (!a64::encode_bl(patch, target, &w)) return false;
  a64::put32(out, w);
  return true;
}

size_t encode_stub_jump(uintptr_t /*at*/, uintptr_t target, uint8_t out[kStubSlotSize]) {
  a64::encode_stub(target, out);
  return kStubSlotSize;
}

void encode_dyntramp(uintptr_t /*at*/, uintptr_t descriptor, uintptr_t body,
                     uint8_t out[kDynTrampSize]) {
  a64::encode_dyn(descriptor, body, out);
}

int text_prot(int base_prot) { return base_prot; }

// The loader maps a module's text with PROT_BTI when the CPU has BTI and
// the module's GNU property note says BTI (every object in it was built
// with landing pads); sled must keep the bit on each mprotect.
int module_text_prot_bits(uintptr_t bias, const void *phdrs, size_t phnum) {
  if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI)) return 0;
  const auto *ph = static_cast<const ElfW(Phdr) *>(phdrs);
  for (size_t i = 0; i < phnum; i++) {
    if (ph[i].p_type != PT_GNU_PROPERTY) continue;
    const auto *p = reinterpret_cast<const uint8_t *>(bias + ph[i].p_vaddr);
    const uint8_t *end = p + ph[i].p_memsz;
    while (p + 16 <= end) {  // notes: namesz, descsz, type, "GNU\0", desc
      uint32_t namesz, descsz, type;
      std::memcpy(&namesz, p, 4);
      std::memcpy(&descsz, p + 4, 4);
      std::memcpy(&type, p + 8, 4);
      const uint8_t *desc = p + 12 + ((namesz + 3) & ~3u);
      const uint8_t *next = desc + ((descsz + 7) & ~7u);
      if (type == NT_GNU_PROPERTY_TYPE_0) {
        for (const uint8_t *q = desc; q + 8 <= desc + descsz;) {
          uint32_t pr_type, pr_size;
          std::memcpy(&pr_type, q, 4);
          std::memcpy(&pr_size, q + 4, 4);
          if (pr_type == GNU_PROPERTY_AARCH64_FEATURE_1_AND && pr_size >= 4) {
            uint32_t bits;
            std::memcpy(&bits, q + 8, 4);
            return (bits & GNU_PROPERTY_AARCH64_FEATURE_1_BTI) ? PROT_BTI : 0;
          }
          q += 8 + ((pr_size + 7) & ~7u);
        }
      }
      p = next;
    }
  }
  return 0;
}

// Aligned 8-byte accesses are single-copy atomic on arm64. The store is
// `stlr` (release: the ops' fields are visible to a thread that reads the
// literal); the load `ldar` (acquire, pairs with it). In assembly so
// sanitizers never touch text pages.
void store_literal(uintptr_t literal, uintptr_t value) {
  asm volatile("stlr %1, [%0]" : : "r"(literal), "r"(value) : "memory");
}

uintptr_t load_literal(uintptr_t literal) {
  uintptr_t value;
  asm volatile("ldar %0, [%1]" : "=r"(value) : "r"(literal) : "memory");
  return value;
}

}  // namespace sled::arch
