// Near stubs: when a module's sites cannot reach a trampoline with a direct
// call, sled maps a page of jump slots within reach of the module.
#pragma once
#include <cstdint>

namespace sled {
// The address a call from anywhere in [lo, hi) should target to reach
// `target`: target itself when in reach, else a stub slot jumping to it.
// 0 when no page could be mapped within reach. Caller holds the registry lock.
uintptr_t near_call_target(uintptr_t lo, uintptr_t hi, uintptr_t target);
}  // namespace sled
