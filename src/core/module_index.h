// The lock-free read path for callbacks: sled_site_lookup and
// sled_site_count called from inside a callback, where taking the registry
// lock could deadlock with a grace period that waits for that callback.
// A table of the modules sled knows, each published in a slot with release
// and read with acquire. Readers take nothing; they run inside a dispatcher
// read section (a callback), so a module that leaves the table stays alive
// until they are done: its owner frees it only after a grace period
// (lifecycle.cc). Writers hold the registry lock. Never writes text.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/module.h"

namespace sled {

// Under the lock, once m is complete (its sites and names never change
// size again).
void module_index_add(const Module *m);
// Under the lock; free m only after a grace period.
void module_index_remove(const Module *m);
// Inside a read section or under the lock: the site whose function starts
// at entry, or null.
const Site *module_index_find(uintptr_t entry, const Module **module_out);
// Inside a read section or under the lock: the sites of every module.
size_t module_index_site_count();

}  // namespace sled
