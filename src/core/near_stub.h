// Near code: when a module's sites cannot reach sled's code with a direct
// call, sled maps pages next to the module for jump stubs and generated
// trampolines. Pages are never unmapped (code there may still be running
// when its module or ops goes away); the registry lock is held by callers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace sled {

// The address a call from anywhere in [lo, hi) should target to reach
// `target`: target itself when in reach, else a stub slot jumping to it.
// 0 when no page could be mapped within reach.
uintptr_t near_call_target(uintptr_t lo, uintptr_t hi, uintptr_t target);

// Places `size` bytes of code within call reach of [lo, hi): `encode(at)`
// returns the bytes to put at `at`. The page is writable (never without X)
// only while they are copied. Returns `at`, or 0.
uintptr_t near_code(uintptr_t lo, uintptr_t hi, size_t size,
                    const std::function<const uint8_t *(uintptr_t at)> &encode);

// Why the last near_code (or near_call_target) returned 0: -EACCES when a
// W^X policy refused the page's protections (the last error names it),
// -ENOMEM when no page within reach could be had.
int near_failure();

}  // namespace sled
