// What the rest of core needs of graph.cc.
#pragma once
#include <cstdint>

#include "sled/sled.h"

namespace sled::graph {
// The sled_ops callback behind every graph ops.
void entry_thunk(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs);
// `seen`, or the real return address when `seen` is the return handler and
// the calling thread has a hooked call whose return leaves stack pointer
// `key`.
uintptr_t real_return_address(uintptr_t key, uintptr_t seen);
}  // namespace sled::graph
