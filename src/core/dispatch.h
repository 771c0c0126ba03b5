// The C++ half of the trampolines: the reader side of sled's grace periods
// and the recursion guard, around a call of the ops named by a literal.
#pragma once
#include <atomic>
#include <cstdint>

#include "core/thread_state.h"
#include "sled/sled.h"

// `walk`: 1, the call came through the list trampoline (walk every ops
// rather than call the one the literal names); 2, through the direct-list
// trampoline (the literal's ops, then regs->ops = its direct trampoline).
extern "C" void sled_dispatch(uintptr_t literal, uintptr_t parent_ip, sled_regs *regs, int walk);

namespace sled {
// What a generated trampoline names (dyntramp.h); ops at offset 0 for the
// assembly. Null while the trampoline sits in the pool.
struct DynDescriptor {
  std::atomic<const sled_ops *> ops{nullptr};
};

// TSan cannot see the literal (it is text, written in assembly): the writer
// calls publish_literals() just before its literal stores and the
// dispatcher acquires the same counter after its literal load; a thread
// that saw a new literal reads this counter's new value too (x86 keeps
// stores in order), which gives TSan the happens-before edge the hardware
// gives through the literal. No-op otherwise.
void publish_literals();
void list_ops_func(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs);

#ifdef SLED_TSAN
constexpr std::memory_order kEnterOrder = std::memory_order_seq_cst;
#else
constexpr std::memory_order kEnterOrder = std::memory_order_relaxed;
#endif

// The reader side of a section (dispatch.cc explains the protocol), for C++
// callers: sled_dispatch and the graph return path. `frame` is a
// trampoline-shaped frame on the caller's stack (its `thread` slot is
// written). Returns the depth before entering; 0 = outermost.
inline uint32_t section_enter(ThreadRecord *t, sled_regs *frame);
inline void section_leave(ThreadRecord *t, uint32_t depth);
}  // namespace sled

#include "core/section.h"
