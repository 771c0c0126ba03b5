// Start-up and module tracking: the first scan, the rescans after dlopen
// and dlclose (or whenever the loader's counters say the set changed), and
// taking modules out around a real dlclose. Every function here expects
// the registry lock held, and none calls into the loader's locked entry
// points (dlopen, dlclose, dlsym, dladdr, dlinfo): constructors and
// destructors run under the loader's lock and may call sled.
#pragma once
#include <vector>

#include "core/registry.h"

namespace sled {
// 0 or the init error (kept: init is attempted once).
int ensure_initialized(Registry &r);
// Brings the module list up to date if the loader's counters moved, or
// unconditionally with `force`. `from_dlopen`: called by the dlopen wrapper
// right after its real dlopen, which makes it the one to judge the new
// objects (their one-time rewrite is allowed if no thread appeared during
// the dlopen). While any other dlopen is in flight, objects sled does not
// know are left for it.
void refresh_modules(Registry &r, bool force, bool from_dlopen);
// The dlclose wrapper, before the real dlclose: the modules `handle` (a
// link_map) may unload — its own module and the modules first seen in the
// same refresh as it — leave sled's tables, their sites disabled by a
// normal batch and a grace period. Returns them, for put_back_after_dlclose.
std::vector<Module *> take_out_for_dlclose(Registry &r, const void *handle);
// After the real dlclose: the modules still loaded (same load) come back
// with every registered ops' filter applied again; the others are dropped.
void put_back_after_dlclose(Registry &r, const std::vector<Module *> &taken);
// Drops the modules that are no longer loaded, allocating nothing: the
// fallback of a put-back that ran out of memory after a dlclose.
void forget_unloaded_modules(Registry &r);
// dl_hooks.cc: looks up the real dlopen/dlmopen/dlclose, at start-up. The reference
// also keeps the interposers in a program linked with libsled.a when a
// library linked before it (libasan, for one) defines dlopen as well.
void resolve_real_dl_functions();
}  // namespace sled
