// The profile tracer's per-thread state: a stack of open calls (for self
// time) and an open-addressing table of per-function sums keyed by the
// function's entry address. One thread writes a table (its owner, from sled
// callbacks); sled_profile_read reads every table while owners keep
// writing. Nothing here locks, allocates or makes a system call except
// ProfileTable::create (one mmap per thread, at its first hooked call).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sled::tracers::profile {

// Calls open at once per thread beyond which calls are not timed (their
// time still counts in the caller's total and self).
constexpr uint32_t kMaxDepth = 1024;
// Functions one thread's table holds; a thread calling more distinct
// functions counts the rest in `missed` (reported at read).
constexpr uint32_t kSlots = 16384;  // power of two
constexpr uint32_t kMaxUsed = kSlots / 4 * 3;

// One function's sums, in raw clock ticks (rec::now() differences).
// The owner thread is the only writer: plain relaxed loads and stores (no
// read-modify-write) suffice for it; readers use relaxed loads too and may
// see the fields of one slot from slightly different moments (a call
// counted whose time is not added yet), which a live profile tolerates.
// `ip` is stored last with release so that a reader that sees it (acquire)
// sees zeroed-or-later counters of that function, never another's.
struct Slot {
  std::atomic<uintptr_t> ip;
  std::atomic<uint64_t> calls, total, self, max;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<uintptr_t>::is_always_lock_free,
              "tables are used as mmap'ed zero bytes");

struct Frame {
  uint64_t start;  // rec::now() at entry
  uint64_t child;  // ticks spent in timed calls made by this one
};

struct ProfileTable {
  ProfileTable *next;            // the list of every thread's table (never unlinked while running)
  uint32_t sp;                   // open calls on `stack` (owner only)
  uint32_t used;                 // slots taken (owner only)
  std::atomic<uint64_t> missed;  // calls of functions that found no slot
  Frame stack[kMaxDepth];
  Slot slots[kSlots];

  // Zeroed memory from mmap (async-signal-safe: the first call of a thread
  // may come from a signal handler interrupting malloc). nullptr on failure.
  static ProfileTable *create();
  static void destroy(ProfileTable *t);

  // Owner thread: add one call of ip.
  void account(uintptr_t ip, uint64_t duration, uint64_t self_time) {
    uint32_t mask = kSlots - 1;
    uint32_t i = static_cast<uint32_t>((ip >> 2) * 0x9E3779B97F4A7C15ull >> 40) & mask;
    for (uint32_t probes = 0; probes < kSlots; probes++, i = (i + 1) & mask) {
      Slot &s = slots[i];
      uintptr_t k = s.ip.load(std::memory_order_relaxed);  // owner wrote it
      if (k == ip) {
        add(s, duration, self_time);
        return;
      }
      if (k == 0) {
        if (used >= kMaxUsed) break;
        used++;
        add(s, duration, self_time);
        s.ip.store(ip, std::memory_order_release);  // publishes the first sums
        return;
      }
    }
    missed.store(missed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

 private:
  static void add(Slot &s, uint64_t duration, uint64_t self_time) {
    auto bump = [](std::atomic<uint64_t> &a, uint64_t v) {
      a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    };
    bump(s.calls, 1);
    bump(s.total, duration);
    bump(s.self, self_time);
    if (duration > s.max.load(std::memory_order_relaxed))
      s.max.store(duration, std::memory_order_relaxed);
  }
};

}  // namespace sled::tracers::profile
