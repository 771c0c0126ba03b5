// The reader side of a section, inline for its C++ callers (dispatch.cc
// and the graph return path); dispatch.cc explains the protocol.
#pragma once
#include <atomic>

#include "arch/frame.h"
#include "core/dispatch.h"
#include "core/thread_state.h"

namespace sled {

inline uint32_t section_enter(ThreadRecord *t, sled_regs *regs) {
  uint32_t depth = t->nest.load(std::memory_order_relaxed);
  // A non-local exit from an earlier callback left nest > 0: end that
  // section here rather than treat this call as nested in it.
  if (depth != 0 && leave_if_abandoned(t, reinterpret_cast<uintptr_t>(regs))) depth = 0;
  t->nest.store(depth + 1, kEnterOrder);
  if (depth == 0) {
    // As the trampolines' fast path: nest, then the frame, its thread slot
    // before entry_sp (release: a grace period that loads entry_sp with
    // acquire finds the slot). Until entry_sp is set it is 0 (cleared at
    // every exit), which reads as live.
    regs->thread = t;
    t->entry_sp.store(reinterpret_cast<uintptr_t>(regs), std::memory_order_release);
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return depth;
}

inline void section_leave(ThreadRecord *t, uint32_t depth) {
  // Release, like the nest store below: a grace period that sees either
  // change knows this section's reads are done (x86: plain stores).
  if (depth == 0) {
    t->gen.store(t->gen.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    // Ordered before nest = 0 by that release store.
    t->entry_sp.store(0, std::memory_order_relaxed);
  }
  t->nest.store(depth, std::memory_order_release);
}

}  // namespace sled
