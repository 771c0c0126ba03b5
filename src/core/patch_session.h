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
  // protection to come back to.
  void add(uintptr_t addr, size_t len, int prot);
  // Makes every declared page writable (keeping X). 0, or -errno with all
  // pages already restored.
  int open();
  void close();

 private:
  struct Page {
    uintptr_t addr;
    int prot;
  };
  std::vector<Page> pages_;
  bool open_ = false;
};

}  // namespace sled
