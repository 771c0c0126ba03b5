// Direct calls (ftrace's register_ftrace_direct): where sled keeps an ops'
// own trampoline, and the grace period that lets its owner unmap it. The
// decisions (which call a site holds) are in strategy.cc and update.cc;
// this header only names the field and the waits. Writes no text.
#pragma once

// offsetof(sled_ops, internal_[1]): the trampolines read it (arm64 CALL_OPS
// calls the same field ops->direct_call).
#define SLED_OPS_DIRECT 32

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>

#include "sled/sled.h"

namespace sled {

static_assert(offsetof(sled_ops, internal_) + sizeof(void *) == SLED_OPS_DIRECT);

// The direct trampoline an ops (or a list ops) continues into; 0: none.
// User ops: set by sled_ops_set_direct while unregistered, then read-only
// until unregister returns. List ops: set before the list is published.
inline uintptr_t direct_of(const sled_ops *ops) {
  return reinterpret_cast<uintptr_t>(ops->internal_[1]);
}
inline void set_direct_of(sled_ops *ops, uintptr_t tramp) {
  ops->internal_[1] = reinterpret_cast<void *>(tramp);
}
// The trampoline's size, kept beside it (internal_[2]).
inline size_t direct_size_of(const sled_ops *ops) {
  return reinterpret_cast<size_t>(ops->internal_[2]);
}
inline void set_direct_size_of(sled_ops *ops, size_t size) {
  ops->internal_[2] = reinterpret_cast<void *>(size);
}

// A direct ops' one-member list ops (internal_[3]): what the literal of a
// site it traces alone names, so that a thread reading that literal finds
// a callback (the list's, which skips it) and the direct trampoline. Made
// at register, freed after the grace period of unregister.
struct ListOps;
inline ListOps *direct_solo_of(const sled_ops *ops) {
  return static_cast<ListOps *>(ops->internal_[3]);
}
inline void set_direct_solo_of(sled_ops *ops, ListOps *solo) { ops->internal_[3] = solo; }

// Waits until no thread other than the caller has its program counter in
// [lo, hi): each is asked with a signal (docs/direct.md). Call after every
// site's call of the trampoline is gone (the text writes synced). 0, or a
// negative errno when no handler could be installed (nothing waited).
int direct_quiesce(uintptr_t lo, uintptr_t hi);

}  // namespace sled
#endif
