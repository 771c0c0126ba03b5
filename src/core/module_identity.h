// Which load of a file a Module describes, and writing module text only
// while the loader cannot unmap it. glibc's dlclose unmaps an object while
// it holds dl_load_write_lock, the lock dl_iterate_phdr holds around its
// callbacks: code run from such a callback sees every listed object stay
// mapped until it returns ("pinned"). sled writes module text only pinned,
// after checking that each module it writes is still listed and still the
// same load: a dlclose called from a callback (which cannot take sled's
// lock), or one sled does not interpose, unmaps without sled knowing.
// Pinned code must never wait for another thread: a thread that the wait
// would be for may itself be waiting for the same lock (an unwinder in
// dl_iterate_phdr, a dlopen adding its objects).
#pragma once
#include <span>
#include <string>
#include <vector>

#include "core/module.h"
#include "core/module_scan.h"

namespace sled {

// Reads of the loader's own memory (object names, link_map fields), which
// another thread's dlclose frees under the loader's lock. Call them only
// where that lock orders the read before any free: inside dl_iterate_phdr,
// or on a handle the caller still holds. ThreadSanitizer cannot see the
// loader's lock (ld.so is not instrumented) and would report the later free
// as a race, so these read with code it does not instrument.
std::string loader_string(const char *s);
bool loader_string_equals(const std::string &ours, const char *s);
// The link_map's l_addr and l_ld of a dlopen handle.
void handle_place(const void *handle, uintptr_t *bias, uintptr_t *dynamic);

// Whether `o` as listed now sits where `id` was and is the same file (the
// witness, which needs the module mapped, is checked by still_loaded).
bool same_place(const LoadIdentity &id, const LoadedObject &o);

// Records `literal` as the module's witness if it has none yet; called
// just before sled first writes a literal that holds the compiled bytes.
void note_first_write(Module &m, uintptr_t literal);

// For each module: 1 if the loader lists it and it is the same load.
std::vector<char> still_loaded(std::span<Module *const> mods);

// Runs fn() pinned if every module of `mods` is listed and the same load;
// otherwise runs nothing and returns -ESTALE. Else fn()'s result.
template <class Fn>
int with_modules_pinned(std::span<Module *const> mods, Fn &&fn);

namespace detail {
int pinned_call(std::span<Module *const> mods, int (*fn)(void *), void *arg);
}
template <class Fn>
int with_modules_pinned(std::span<Module *const> mods, Fn &&fn) {
  return detail::pinned_call(
      mods, [](void *f) { return (*static_cast<Fn *>(f))(); }, &fn);
}

}  // namespace sled
