// RAII for text page protections (cf. XRay's MProtectHelper): the pages a
// batch touches become writable for the batch only and get their loaded
// protection back on every path. X is never dropped while threads run.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sled {

class PatchSession {
 public:
  PatchSession() = default;
  PatchSession(const PatchSession &) = delete;
  PatchSession &operator=(const PatchSession &) = delete;
  ~PatchSession() { close(); }

  // Declares that [addr, addr+len) will be written; `prot` is the pages'
  // protection to come back to. Inline for the common case of a batch in
  // address order: a write within the page added last.
  void add(uintptr_t addr, size_t len, int prot) {
    if (addr >= last_lo_ && addr + len <= last_hi_) return;
    add_pages(addr, len, prot);
  }
  // Makes every declared page writable (keeping X). 0, or -errno with all
  // pages already restored: -EACCES when a W^X policy refused, with
  // sled_last_error naming it.
  int open();
  // Restores every page. 0, or -errno (and the last error) when a page
  // could not be restored; it is retried page by page first.
  int close();

 private:
  struct Page {
    uintptr_t addr;
    int prot;
  };
  void add_pages(uintptr_t addr, size_t len, int prot);

  std::vector<Page> pages_;
  uintptr_t last_lo_ = 0, last_hi_ = 0;  // the page added last: [lo, hi)
  bool open_ = false;
};

// Whether [lo, hi) lies in text an earlier session already populated
// (made private): its mprotect and first stores then fault nothing.
bool text_populated(uintptr_t lo, uintptr_t hi);

// Sets the last error for a refused mprotect(RWX) of [start, start + len)
// with errno `err`; returns the code to report (-EACCES for a policy).
int report_refused_rwx(uintptr_t start, size_t len, int err);

}  // namespace sled
