// Near pages: mapped with MAP_FIXED_NOREPLACE at a hint next to the module
// (old kernels may ignore the hint, so the result is checked), filled by a
// bump allocator in 16-byte units, R+X except while a piece is copied in.
#include "core/near_stub.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <utility>
#include <vector>

#include "arch/arch.h"

namespace sled {
namespace {

struct NearPage {
  uintptr_t addr;
  size_t used;                                         // bytes
  std::vector<std::pair<uintptr_t, uintptr_t>> jumps;  // (target, stub)
};
std::vector<NearPage> g_pages;

uintptr_t page_size() { return static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)); }

bool page_reaches(const NearPage &p, uintptr_t lo, uintptr_t hi) {
  return arch::call_reaches(lo, hi, p.addr) && arch::call_reaches(lo, hi, p.addr + page_size());
}

NearPage *map_near(uintptr_t lo, uintptr_t hi) {
  constexpr uintptr_t kStep = uintptr_t{1} << 20;  // 1 MiB
  constexpr int kTries = 1024;                     // up to 1 GiB away
  for (int i = 1; i <= kTries; i++) {
    for (int dir = 0; dir < 2; dir++) {
      uintptr_t hint = dir == 0 ? ((hi + kStep - 1) & ~(kStep - 1)) + (i - 1) * kStep
                                : (lo & ~(kStep - 1)) - i * kStep;
      if (dir == 1 && hint > lo) continue;  // wrapped below zero
      void *p = mmap(reinterpret_cast<void *>(hint), page_size(), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == MAP_FAILED) continue;
      NearPage page{reinterpret_cast<uintptr_t>(p), 0, {}};
      if (page.addr == hint && page_reaches(page, lo, hi)) {
        std::memset(p, arch::kTrapFillByte, page_size());  // int3 / udf filler
        mprotect(p, page_size(), arch::text_prot(PROT_READ | PROT_EXEC));
        g_pages.push_back(std::move(page));
        return &g_pages.back();
      }
      munmap(p, page_size());
    }
  }
  return nullptr;
}

}  // namespace

uintptr_t near_code(uintptr_t lo, uintptr_t hi, size_t size,
                    const std::function<const uint8_t *(uintptr_t at)> &encode) {
  size = (size + 15) & ~size_t{15};
  NearPage *page = nullptr;
  for (NearPage &p : g_pages)
    if (p.used + size <= page_size() && page_reaches(p, lo, hi)) {
      page = &p;
      break;
    }
  if (!page) page = map_near(lo, hi);
  if (!page) return 0;
  uintptr_t at = page->addr + page->used;
  const uint8_t *bytes = encode(at);
  // Keep X: other threads may be running earlier code of the page. The new
  // piece is unreachable until the caller publishes its address.
  mprotect(reinterpret_cast<void *>(page->addr), page_size(),
           arch::text_prot(PROT_READ | PROT_WRITE | PROT_EXEC));
  std::memcpy(reinterpret_cast<void *>(at), bytes, size);
  __builtin___clear_cache(reinterpret_cast<char *>(at), reinterpret_cast<char *>(at + size));
  mprotect(reinterpret_cast<void *>(page->addr), page_size(),
           arch::text_prot(PROT_READ | PROT_EXEC));
  page->used += size;
  return at;
}

uintptr_t near_call_target(uintptr_t lo, uintptr_t hi, uintptr_t target) {
  if (arch::call_reaches(lo, hi, target)) return target;
  for (NearPage &p : g_pages)
    if (page_reaches(p, lo, hi))
      for (auto [t, stub] : p.jumps)
        if (t == target) return stub;
  uint8_t code[arch::kStubSlotSize];
  uintptr_t stub = near_code(lo, hi, sizeof code, [&](uintptr_t at) {
    arch::encode_stub_jump(at, target, code);
    return code;
  });
  if (!stub) return 0;
  for (NearPage &p : g_pages)
    if (stub >= p.addr && stub < p.addr + page_size()) p.jumps.emplace_back(target, stub);
  return stub;
}

}  // namespace sled
