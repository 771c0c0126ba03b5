// Where a patching call spends its time, for docs/bench/patching.md: a
// build-time breakdown (cmake -DSLED_PATCH_PROFILE=ON), off by default and
// then compiled to nothing. Each public call that changes tracing starts a
// profile; the update path marks the end of each phase; the call prints one
// line to stderr ("sled-profile: ...", nanoseconds of the thread's CPU time)
// when it wrote any site. Writers hold the registry lock, so the counters
// need no atomics. Never changes what sled does.
#pragma once
#include <cstddef>

namespace sled::profile {

enum Phase {
  kEnter,      // enter(): module refresh
  kMatch,      // the ops' filter evaluated (traced_sites)
  kDiff,       // target vs traced: the deltas
  kPlan,       // one SiteChange per site
  kStage,      // the ops' next traced set, walker data, reserves
  kPin,        // dl_iterate_phdr and the module identity checks
  kPrepare,    // every old byte checked, code writes encoded, pages collected
  kProtectRw,  // mprotect to writable
  kLiterals,   // literal stores
  kCode,       // code stores (all passes)
  kSync,       // membarrier(SYNC_CORE)
  kProtectRx,  // mprotect back
  kCommit,     // site fields, traced sets, walker commit
  kGrace,      // grace period and frees
  kOther,      // after the batch: forget_ops, returns
  kPhases
};

#if SLED_PATCH_PROFILE
void begin(const char *call);
// Adds the time since the previous mark to `p`.
void mark(Phase p);
void sites(size_t n);
// Adds the rest to kOther and prints the line.
void end();
#else
inline void begin(const char *) {}
inline void mark(Phase) {}
inline void sites(size_t) {}
inline void end() {}
#endif

// Begins a profile; ends it (and prints) when it goes out of scope.
struct Scope {
  explicit Scope(const char *call) { begin(call); }
  ~Scope() { end(); }
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;
};

}  // namespace sled::profile
