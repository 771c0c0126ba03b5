// Start-up and module tracking: the first scan, and the rescans after
// dlopen/dlclose (or whenever the loader's counters say the set changed).
// Every function here expects the registry lock held.
#pragma once
#include "core/registry.h"

namespace sled {
// 0 or the init error (kept: init is attempted once).
int ensure_initialized(Registry &r);
// Brings the module list up to date if the loader's counters moved, or
// unconditionally with `force`. `just_loaded`: new modules come from a
// dlopen that just returned (their GCC NOPs may be normalised).
void refresh_modules(Registry &r, bool force, bool just_loaded);
// Drops the modules that are no longer loaded, allocating nothing: the
// fallback of a refresh that ran out of memory after a dlclose.
void forget_unloaded_modules(Registry &r);
// dl_hooks.cc: looks up the real dlopen/dlclose, at start-up. The reference
// also keeps the interposers in a program linked with libsled.a when a
// library linked before it (libasan, for one) defines dlopen as well.
void resolve_real_dl_functions();
}  // namespace sled
