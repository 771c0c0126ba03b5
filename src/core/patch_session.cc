// Page protection widening/restoring, coalesced into ranges per syscall.
// Every mprotect is checked: a policy that refuses writable code (W^X) is
// reported by name, and a page that cannot be restored is reported too.
#include "core/patch_session.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

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
// Text made private (copied on write) by an earlier batch; callers hold
// the registry lock. A later batch over it skips the populate below (a
// walk of present pages: ~0.4 ms for 782 pages). Should another load reuse
// an address after an unload, its pages just take the ordinary faults.
std::vector<std::pair<uintptr_t, uintptr_t>> &populated() {
  static auto *ranges = new std::vector<std::pair<uintptr_t, uintptr_t>>();
  return *ranges;
}

// Pages just made writable get their private copies in one system call
// (MADV_POPULATE_WRITE, Linux 5.14) instead of one copy-on-write fault per
// page on the batch's first store (~10-60 us each in a VM). Best effort:
// an older kernel refuses it and the faults happen as before.
void populate(uintptr_t lo, uintptr_t hi) {
#ifdef MADV_POPULATE_WRITE
  auto &ranges = populated();
  for (const auto &r : ranges)
    if (r.first <= lo && hi <= r.second) return;
  if (madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_POPULATE_WRITE) != 0) return;
  try {
    ranges.emplace_back(lo, hi);
  } catch (const std::exception &) {  // not remembered: populated again next time
    return;
  }
  // Sorted and merged: a module's text stays one range.
  std::sort(ranges.begin(), ranges.end());
  size_t out = 0;
  for (size_t i = 1; i < ranges.size(); i++)
    if (ranges[i].first <= ranges[out].second)
      ranges[out].second = std::max(ranges[out].second, ranges[i].second);
    else
      ranges[++out] = ranges[i];
  ranges.resize(out + 1);
#else
  (void)lo, (void)hi;
#endif
}
}  // namespace

bool text_populated(uintptr_t lo, uintptr_t hi) {
  for (const auto &r : populated())
    if (r.first <= lo && hi <= r.second) return true;
  return false;
}

void PatchSession::add_pages(uintptr_t addr, size_t len, int prot) {
  uintptr_t first = addr & ~(page_size() - 1);
  for (uintptr_t p = first; p < addr + len; p += page_size())
    // Batches come in address order: skipping a repeat of the last page
    // keeps the list (and the sort in open()) short.
    if (pages_.empty() || pages_.back().addr != p) pages_.push_back(Page{p, prot});
  last_lo_ = pages_.back().addr;
  last_hi_ = last_lo_ + page_size();
}

int PatchSession::open() {
  std::sort(pages_.begin(), pages_.end(),
            [](const Page &a, const Page &b) { return a.addr < b.addr; });
  pages_.erase(std::unique(pages_.begin(), pages_.end(),
                           [](const Page &a, const Page &b) { return a.addr == b.addr; }),
               pages_.end());
  open_ = true;
  int err = for_each_run(pages_, [](uintptr_t start, size_t len, int prot) {
    if (mprotect(reinterpret_cast<void *>(start), len, arch::text_prot(prot | PROT_WRITE)) != 0)
      return report_refused_rwx(start, len, errno);
    populate(start, start + len);
    return 0;
  });
  if (err) close();
  return err;
}

int PatchSession::close() {
  if (!open_) return 0;
  int err = 0;
  for_each_run(pages_, [&err](uintptr_t start, size_t len, int prot) {
    if (mprotect(reinterpret_cast<void *>(start), len, arch::text_prot(prot)) == 0) return 0;
    // A range may fail as a whole (e.g. ENOMEM: too many mappings) where
    // its pages one by one succeed: never leave a page writable for less.
    for (uintptr_t p = start; p < start + len; p += page_size())
      if (mprotect(reinterpret_cast<void *>(p), page_size(), arch::text_prot(prot)) != 0 && !err) {
        err = -errno;
        set_last_error(
            "mprotect(%#lx, %zu, PROT_READ|PROT_EXEC) failed (%s): a code page stays "
            "writable",
            static_cast<unsigned long>(p), static_cast<size_t>(page_size()), strerror(-err));
      }
    return 0;
  });
  open_ = false;
  pages_.clear();
  last_lo_ = last_hi_ = 0;
  return err;
}

int report_refused_rwx(uintptr_t start, size_t len, int err) {
  if (err == EACCES || err == EPERM) {
    set_last_error(
        "mprotect(%#lx, %zu, PROT_READ|PROT_WRITE|PROT_EXEC) refused (%s): a W^X "
        "policy (SELinux deny_execmem, PaX MPROTECT or a seccomp filter) forbids "
        "writable code, so sled cannot patch",
        static_cast<unsigned long>(start), len, strerror(err));
    return -EACCES;
  }
  set_last_error("mprotect(%#lx, %zu, PROT_READ|PROT_WRITE|PROT_EXEC) failed: %s",
                 static_cast<unsigned long>(start), len, strerror(err));
  return -err;
}

}  // namespace sled
