// alloc_fail.h — an allocation-failure injector for the OOM tests: the
// program that includes alloc_fail.cc replaces malloc and its relatives
// (libstdc++'s operator new, libelf and libsled all allocate through them),
// and fails the Nth allocation made by the armed thread after arming. Not
// usable under a sanitizer, whose runtime owns malloc.
#pragma once
#include <cstddef>

namespace alloc_fail {
// The `n`th allocation of this thread from now on fails (n >= 1).
void arm(long n);
// Stops failing; returns whether an allocation failed since arm().
bool disarm();
// Allocations this thread made while armed (counted whether or not armed to fail).
long armed_count();
}  // namespace alloc_fail
