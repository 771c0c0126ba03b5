// Near pages: mapped with MAP_FIXED_NOREPLACE at a hint next to the module
// (old kernels may ignore the hint, so the result is checked), filled by a
// bump allocator in 16-byte units, R+X except while a piece is copied in.
// A new page gets its first piece while still R+W (never W+X); later pieces
// need W+X, which a W^X policy refuses: then the piece is refused (0) with
// the reason in the last error, and nothing is written.
#include "core/near_stub.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "arch/arch.h"
#include "core/error.h"
#include "core/patch_session.h"

namespace sled {
namespace {

struct NearPage {
  uintptr_t addr;
  size_t used;                                         // bytes
  bool writable;                                       // R+W, never yet executable
  std::vector<std::pair<uintptr_t, uintptr_t>> jumps;  // (target, stub)
};
std::vector<NearPage> g_pages;
int g_failure = -ENOMEM;  // see near_failure(); under the registry lock

uintptr_t page_size() { return static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)); }

bool page_reaches(const NearPage &p, uintptr_t lo, uintptr_t hi) {
  return arch::call_reaches(lo, hi, p.addr) && arch::call_reaches(lo, hi, p.addr + page_size());
}

// A fresh page within reach, still R+W and filled with traps: the first
// piece is copied in before it ever becomes executable (no W+X needed).
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
      NearPage page{reinterpret_cast<uintptr_t>(p), 0, true, {}};
      if (page.addr == hint && page_reaches(page, lo, hi)) {
        std::memset(p, arch::kTrapFillByte, page_size());  // int3 / udf filler
        g_pages.push_back(std::move(page));
        return &g_pages.back();
      }
      munmap(p, page_size());
    }
  }
  return nullptr;
}

// Copies `size` bytes to `at` in `page` and leaves the page R+X. False (and
// the last error) when a protection change was refused.
bool copy_in(NearPage &page, uintptr_t at, const uint8_t *bytes, size_t size) {
  void *addr = reinterpret_cast<void *>(page.addr);
  // Keep X on a page already in use: other threads may be running earlier
  // code of it. The new piece is unreachable until the caller publishes it.
  if (!page.writable &&
      mprotect(addr, page_size(), arch::text_prot(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0) {
    g_failure = report_refused_rwx(page.addr, page_size(), errno);
    return false;
  }
  std::memcpy(reinterpret_cast<void *>(at), bytes, size);
  __builtin___clear_cache(reinterpret_cast<char *>(at), reinterpret_cast<char *>(at + size));
  if (mprotect(addr, page_size(), arch::text_prot(PROT_READ | PROT_EXEC)) != 0) {
    int err = errno;
    g_failure = err == EACCES || err == EPERM ? -EACCES : -err;
    set_last_error("mprotect(%#lx, %zu, PROT_READ|PROT_EXEC) of a stub page failed: %s",
                   static_cast<unsigned long>(page.addr), static_cast<size_t>(page_size()),
                   strerror(err));
    if (page.writable) return false;  // never executable: nothing runs there
    // Leave it W+X rather than drop X under a running thread; never reuse it.
    page.used = page_size();
    return false;
  }
  page.writable = false;
  return true;
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
  g_failure = -ENOMEM;
  if (!page) page = map_near(lo, hi);
  if (!page) return 0;
  uintptr_t at = page->addr + page->used;
  const uint8_t *bytes = encode(at);
  if (!copy_in(*page, at, bytes, size)) {
    if (page->writable) {  // never published: give the page back
      munmap(reinterpret_cast<void *>(page->addr), page_size());
      g_pages.erase(g_pages.begin() + (page - g_pages.data()));
    }
    return 0;
  }
  page->used += size;
  return at;
}

int near_failure() { return g_failure; }

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
