// GCC site normalisation under ptrace (normalize.h).
#include "attach/normalize.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "attach/remote_arch.h"

namespace sled::attach {
namespace {

// The slot that strictly contains pc (start < pc < start + size), or 0.
uintptr_t slot_around(const std::vector<uintptr_t> &slots, uintptr_t pc) {
  auto it = std::lower_bound(slots.begin(), slots.end(), pc);  // first start >= pc
  if (it == slots.begin()) return 0;
  uintptr_t start = *(it - 1);
  return pc > start && pc < start + kPatchSize ? start : 0;
}

std::string hex(uintptr_t v) {
  char b[32];
  snprintf(b, sizeof b, "%#lx", static_cast<unsigned long>(v));
  return b;
}

}  // namespace

bool read_site_literals(int mem_fd, const std::vector<SiteTable> &tables,
                        std::vector<uintptr_t> *literals, std::string *error) {
  for (const SiteTable &t : tables) {
    std::vector<uintptr_t> entries(t.size / sizeof(uintptr_t));
    size_t bytes = entries.size() * sizeof(uintptr_t);
    if (pread(mem_fd, entries.data(), bytes, static_cast<off_t>(t.addr)) !=
        static_cast<ssize_t>(bytes)) {
      *error = t.module + ": cannot read its site table: " + std::strerror(errno);
      return false;
    }
    for (uintptr_t e : entries)
      if (e) literals->push_back(e);
  }
  std::sort(literals->begin(), literals->end());
  literals->erase(std::unique(literals->begin(), literals->end()), literals->end());
  return true;
}

int normalize_sites(StoppedProcess &stopped, int mem_fd, const std::vector<uintptr_t> &literals,
                    NormalizeReport *report, std::string *error) {
  std::vector<uintptr_t> slots;
  for (uintptr_t literal : literals) {
    uint8_t window[kSiteWindow];
    if (pread(mem_fd, window, sizeof window, static_cast<off_t>(literal)) !=
        static_cast<ssize_t>(sizeof window))
      continue;  // not readable: libsled will say why (OUT_OF_SEGMENT)
    uintptr_t patch = 0;
    if (classify_compiled_site(literal, window, &patch)) slots.push_back(patch);
  }
  if (slots.empty()) return 0;
  std::sort(slots.begin(), slots.end());

  // No thread may resume in the middle of a slot once it is one instruction.
  std::vector<uintptr_t> refused;
  for (StoppedProcess::Thread &t : stopped.threads()) {
    uintptr_t pc = 0;
    if (!thread_pc(t.tid, &pc)) continue;
    uintptr_t inside = slot_around(slots, pc);
    if (!inside) continue;
    for (int step = 0; step < 16 && inside; step++) {
      if (single_step(t.tid, &t.pending_signal) != 0 || !thread_pc(t.tid, &pc)) break;
      inside = slot_around(slots, pc);
    }
    if (inside) {
      refused.push_back(inside);
      report->left.push_back("site slot at " + hex(inside) + ": thread " + std::to_string(t.tid) +
                             " is stopped inside it and could not be stepped out");
    } else {
      report->stepped_threads++;
    }
  }

  uint8_t nop[kPatchSize];
  normalized_patch(nop);
  for (uintptr_t at : slots) {
    if (std::find(refused.begin(), refused.end(), at) != refused.end()) continue;
    if (pwrite(mem_fd, nop, sizeof nop, static_cast<off_t>(at)) !=
        static_cast<ssize_t>(sizeof nop)) {
      *error = "writing the site slot at " + hex(at) + ": " + std::strerror(errno) + " (" +
               std::to_string(report->rewritten) + " slots rewritten before it)";
      return -EIO;
    }
    uint8_t check[kPatchSize];
    if (pread(mem_fd, check, sizeof check, static_cast<off_t>(at)) !=
            static_cast<ssize_t>(sizeof check) ||
        std::memcmp(check, nop, sizeof nop) != 0) {
      *error = "the site slot at " + hex(at) + " does not read back as written";
      return -EIO;
    }
    report->rewritten++;
  }
  return 0;
}

}  // namespace sled::attach
