// Sites and the modules that hold them. A Site is one patchable function
// entry with its desired state (which ops trace it) and its applied state
// (what its bytes are now). 32 bytes each; names live in the module's pool.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sled/sled.h"

namespace sled {

enum SiteFlags : uint8_t {
  kSiteLandingPad = 1 << 0,             // endbr64 / bti c before the patch slot
  kSiteCallShift = 1,                   // the CallKind in place
  kSiteCallMask = 7 << kSiteCallShift,  // bits 1-3 (kCallDirect* need the third)
};

// What a site's call instruction targets.
enum CallKind : uint8_t {
  kCallNone = 0,        // disabled: a NOP
  kCallOps = 1,         // the common CALL_OPS trampoline (reads the literal)
  kCallList = 2,        // the list trampoline (walks every ops)
  kCallDyn = 3,         // the single ops' generated trampoline
  kCallDirect = 4,      // a direct ops' own trampoline (it traces the site alone)
  kCallDirectList = 5,  // the direct-list trampoline (other ops, then the direct one)
};

struct Site {
  uintptr_t entry;                  // function entry; literal at entry - 8
  const sled_ops *applied_literal;  // what the literal holds (null: compiled NOPs)
  const sled_ops *ops_ref;          // desired: the one ops, or a ListOps when nr_ops > 1
  uint32_t name;                    // offset into Module::names
  uint16_t nr_ops;                  // ops tracing it (desired)
  uint8_t refusal;                  // enum sled_refusal
  uint8_t flags;                    // SiteFlags
};
static_assert(sizeof(Site) == 32, "metadata budget: 32 bytes per site");

inline CallKind applied_call(const Site &s) {
  return static_cast<CallKind>((s.flags & kSiteCallMask) >> kSiteCallShift);
}
// Relaxed atomic stores of the fields callbacks read without the lock
// (flags, nr_ops, applied_literal: module_index.h); writers hold the lock.
inline void set_applied_call(Site &s, CallKind k) {
  std::atomic_ref<uint8_t>(s.flags).store(
      static_cast<uint8_t>((s.flags & ~kSiteCallMask) | (k << kSiteCallShift)),
      std::memory_order_relaxed);
}

struct TextSegment {
  uintptr_t lo, hi;  // page-aligned
  int prot;          // PROT_* as loaded
};

// Which load of which file a Module describes (module_identity.h). The
// loader may put another file, or the same file again, at the same address
// behind sled's back (dlclose from a callback): where and what file are
// compared at each refresh, and the witness tells two loads of one file
// apart: one place sled has written (a literal or a one-time rewrite),
// which a fresh load has in its compiled form again.
struct LoadIdentity {
  const void *phdr_key = nullptr;  // dlpi_phdr
  uintptr_t bias = 0;              // dlpi_addr (the link_map's l_addr)
  uintptr_t dynamic = 0;           // its PT_DYNAMIC in memory (the link_map's l_ld)
  std::string listed_name;         // dlpi_name ("" for the main program)
  uintptr_t witness = 0;           // 0: sled has written nothing in it yet
  uint8_t witness_len = 0;
  uint8_t witness_compiled[8] = {};  // the bytes a fresh load has there
};

struct Module {
  std::string path;
  std::string base_name;           // basename of path, what @module matches
  uintptr_t bias = 0;              // dlpi_addr
  const void *phdr_key = nullptr;  // dlpi_phdr
  LoadIdentity id;
  // The refresh that first saw it (0: sled's start-up); a dlclose may
  // unload a handle's module and the modules first seen with it.
  uint64_t generation = 0;
  std::vector<TextSegment> text;
  std::vector<Site> sites;               // sorted by entry
  std::string names;                     // NUL-separated symbol names
  uintptr_t call_target = 0;             // CALL_OPS trampoline, or a near stub slot to it
  uintptr_t list_target = 0;             // list trampoline, or a stub slot; 0 until needed
  uintptr_t direct_list_target = 0;      // direct-list trampoline, the same way
  uintptr_t reach_lo = 0, reach_hi = 0;  // what every call of this module spans

  // Lazily built for pattern matching.
  bool demangled_ready = false;
  std::vector<uint32_t> demangled;  // offsets into demangled_pool, ~0u: not C++
  std::string demangled_pool;
  bool index_ready = false;
  std::unordered_multimap<std::string_view, uint32_t> name_index;

  const char *name_of(const Site &s) const { return names.data() + s.name; }
  uintptr_t patch_of(const Site &s) const;
  const TextSegment *segment_of(uintptr_t addr) const;
  Site *find(uintptr_t entry);
  void ensure_demangled();
  void ensure_index();
  std::string_view demangled_of(size_t i) const;  // empty when not C++
};

}  // namespace sled
