// Stub pages: mapped with MAP_FIXED_NOREPLACE at a hint next to the module
// (the kernel may ignore the hint on old kernels, so the result is checked),
// written while RW, then made R+X for good. Never unmapped: a page outlives
// the module it was made for and serves the next module within its reach.
#include "core/near_stub.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "arch/arch.h"

namespace sled {
namespace {

struct StubPage {
  uintptr_t addr;
  size_t used;  // slots
  uintptr_t targets[64];
};
std::vector<StubPage> g_stub_pages;

uintptr_t page_size() { return static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)); }

uintptr_t map_near(uintptr_t lo, uintptr_t hi) {
  constexpr uintptr_t kStep = uintptr_t{1} << 20;  // 1 MiB
  constexpr int kTries = 1024;                     // up to 1 GiB away
  for (int i = 1; i <= kTries; i++) {
    for (int dir = 0; dir < 2; dir++) {
      uintptr_t hint = dir == 0 ? ((hi + kStep - 1) & ~(kStep - 1)) + (i - 1) * kStep
                                : (lo & ~(kStep - 1)) - i * kStep;
      if (dir == 1 && hint > lo) continue;  // wrapped
      void *p = mmap(reinterpret_cast<void *>(hint), page_size(), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == MAP_FAILED) continue;
      auto got = reinterpret_cast<uintptr_t>(p);
      if (got == hint && arch::call_reaches(lo, hi, got) &&
          arch::call_reaches(lo, hi, got + page_size() - arch::kStubSlotSize))
        return got;
      munmap(p, page_size());
    }
  }
  return 0;
}

// Writes slot `slot` of a page that is not yet executable, or is R+X and
// gets RW only for this write (no thread calls a slot before it exists).
void write_slot(StubPage &page, size_t slot, uintptr_t target) {
  uintptr_t at = page.addr + slot * arch::kStubSlotSize;
  uint8_t code[arch::kStubSlotSize];
  arch::encode_stub_jump(at, target, code);
  // Keep X: other threads may be jumping through earlier slots of the page.
  mprotect(reinterpret_cast<void *>(page.addr), page_size(),
           arch::text_prot(PROT_READ | PROT_WRITE | PROT_EXEC));
  std::memcpy(reinterpret_cast<void *>(at), code, sizeof code);
  __builtin___clear_cache(reinterpret_cast<char *>(at), reinterpret_cast<char *>(at + sizeof code));
  mprotect(reinterpret_cast<void *>(page.addr), page_size(), arch::text_prot(PROT_READ | PROT_EXEC));
  page.targets[slot] = target;
}

}  // namespace

uintptr_t near_call_target(uintptr_t lo, uintptr_t hi, uintptr_t target) {
  if (arch::call_reaches(lo, hi, target)) return target;
  for (StubPage &page : g_stub_pages) {
    if (!arch::call_reaches(lo, hi, page.addr) ||
        !arch::call_reaches(lo, hi, page.addr + page_size()))
      continue;
    for (size_t i = 0; i < page.used; i++)
      if (page.targets[i] == target) return page.addr + i * arch::kStubSlotSize;
    if (page.used < std::size(page.targets)) {
      write_slot(page, page.used, target);
      return page.addr + page.used++ * arch::kStubSlotSize;
    }
  }
  uintptr_t addr = map_near(lo, hi);
  if (!addr) return 0;
  g_stub_pages.push_back(StubPage{addr, 0, {}});
  arch::add_sled_text(addr, addr + page_size());
  StubPage &page = g_stub_pages.back();
  write_slot(page, 0, target);
  page.used = 1;
  return addr;
}

}  // namespace sled
