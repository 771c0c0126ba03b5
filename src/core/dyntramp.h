// Generated per-ops trampolines (the "dyntramp" strategy, x86 ftrace's
// answer): a few bytes of code mapped next to a module that load the
// address of the ops' descriptor and jump to the shared body. The body
// checks the descriptor's ops against the site's literal before calling it:
// a thread can sit between a site's call and the first generated
// instruction for as long as the scheduler likes, and user space has no
// RCU-tasks to wait for it, so the literal (always live, see dispatch.cc)
// is the authority. Code is never rewritten or unmapped: a trampoline and
// its descriptor are recycled (descriptor rewritten, a data store) only
// after a grace period, so a late thread runs valid code that names either
// nothing or another ops, both caught by the literal check.
#pragma once
#include <cstdint>

#include "sled/sled.h"

namespace sled {

// The trampoline of `ops` callable from [lo, hi): found or made. 0 when no
// memory within reach could be had. Registry lock held.
uintptr_t dyntramp_for(const sled_ops *ops, uintptr_t lo, uintptr_t hi);
// Returns every trampoline of `ops` to the pool. Call only after a grace
// period that followed the last site's move away from them.
void dyntramp_release(const sled_ops *ops);
// Number of trampolines made (live and pooled), for statistics.
uint64_t dyntramp_count();

}  // namespace sled
