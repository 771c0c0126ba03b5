// Per-thread shadow stacks of graph ops: for each hooked call, the real
// return address and which graph ops wait for its return. Only the owning
// thread reads or writes its stack (signal handlers included: they nest
// whole pushes and pops, and never run inside one, because graph callbacks
// are never RECURSION_SAFE and the return path runs in a read section).
// Other threads read the counters only (stats). Memory is mmap'd (fork
// copies it with the thread) and recycled after the thread exits
// (release_current_stack, from the thread-exit hook of thread_state).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sled::graph {

struct ShadowFrame {
  uintptr_t key;   // stack pointer the function's return leaves
  uintptr_t orig;  // its real return address
  uintptr_t ip;    // its entry
  uint32_t first;  // its hooks: data[first .. first + count)
  uint32_t count;
  uint32_t section;  // the thread record's gen when hooked: which entry
  uint32_t pad_;
};

struct Hook {
  uint32_t slot;  // graph ops slot (graph.cc)
  uint32_t gen;   // ...and the registration it belonged to
  uint64_t data;  // the entry callback's per-call word
};

struct ShadowStack {
  uint32_t depth = 0, cap = 0;
  uint32_t data_top = 0, data_cap = 0;
  // The thread's own stack (the mapping its first hooked call ran on):
  // frames inside it are ordered by address; frames elsewhere (coroutine,
  // signal stacks) are only ever matched exactly.
  uintptr_t home_lo = 0, home_hi = 0;
  // Written by the owner only (load + store, no RMW); read by stats.
  std::atomic<uint64_t> hooked{0}, unwound{0}, missed_depth{0};
  std::atomic<int> owner{0};    // tid; 0 = free for reuse
  ShadowStack *next = nullptr;  // every stack ever made (immutable once linked)
  size_t map_bytes = 0;
  ShadowFrame *frames = nullptr;
  Hook *data = nullptr;

  bool same_home(uintptr_t a, uintptr_t b) const {
    return a >= home_lo && a < home_hi && b >= home_lo && b < home_hi;
  }
};

// The calling thread's stack, claimed (mmap) on first use; null when no
// memory, or after the thread's exit hook ran. Async-signal-safe.
ShadowStack *current_stack();
// The calling thread's stack if it has one (never claims).
ShadowStack *existing_stack();
// At thread exit, once its frames are flushed: recycle the stack and hook
// nothing more on this thread.
void release_current_stack();
// Head of the list of every stack (stats).
ShadowStack *all_stacks();
// Depth of stacks made from now on.
void set_default_depth(unsigned depth);

}  // namespace sled::graph
