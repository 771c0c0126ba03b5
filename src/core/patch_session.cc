// Page protection widening/restoring, coalesced into ranges per syscall.
#include "core/patch_session.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "arch/arch.h"
#include "core/error.h"

namespace sled {
namespace {
uintptr_t page_size() {
  static const uintptr_t size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// Calls fn(start, len, prot) for each run of contiguous pages with one prot.
template <class Page, class Fn>
int for_each_run(const std::vector<Page> &pages, Fn fn) {
  size_t i = 0;
  while (i < pages.size()) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j].addr == pages[j - 1].addr + page_size() &&
           pages[j].prot == pages[i].prot)
      j++;
    if (int err = fn(pages[i].addr, (j - i) * page_size(), pages[i].prot)) return err;
    i = j;
  }
  return 0;
}
}  // namespace

void PatchSession::add(uintptr_t addr, size_t len, int prot) {
  uintptr_t first = addr & ~(page_size() - 1);
  for (uintptr_t p = first; p < addr + len; p += page_size())
    // Batches come in address order: skipping a repeat of the last page
    // keeps the list (and the sort in open()) short.
    if (pages_.empty() || pages_.back().addr != p) pages_.push_back(Page{p, prot});
}

int PatchSession::open() {
  std::sort(pages_.begin(), pages_.end(),
            [](const Page &a, const Page &b) { return a.addr < b.addr; });
  pages_.erase(std::unique(pages_.begin(), pages_.end(),
                           [](const Page &a, const Page &b) { return a.addr == b.addr; }),
               pages_.end());
  open_ = true;
  int err = for_each_run(pages_, [](uintptr_t start, size_t len, int prot) {
    if (mprotect(reinterpret_cast<void *>(start), len, arch::text_prot(prot | PROT_WRITE)) != 0) {
      int e = errno;
      set_last_error("mprotect(%#lx, %zu, RWX) failed: errno %d", static_cast<unsigned long>(start),
                     len, e);
      return -e;
    }
    return 0;
  });
  if (err) close();
  return err;
}

void PatchSession::close() {
  if (!open_) return;
  for_each_run(pages_, [](uintptr_t start, size_t len, int prot) {
    mprotect(reinterpret_cast<void *>(start), len, arch::text_prot(prot));
    return 0;
  });
  open_ = false;
  pages_.clear();
}

}  // namespace sled
