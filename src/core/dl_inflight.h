// Which dlopen calls are between the call and their end (dl_hooks.cc), so
// that a module is judged once, by the dlopen that loaded it: while any
// dlopen is in flight, other refreshes leave objects they do not know
// alone (they may be half-loaded, or a constructor may still start a
// thread). Also the thread ids that existed when the first of the dlopens
// in flight began: a thread that appeared since may run the new code. Uses
// its own small lock, never held across a call into the loader or sled.
#pragma once
#include <cstdint>

namespace sled {

// Around the real dlopen of every dlopen call (callbacks' included).
void dlopen_begin();
void dlopen_end();
// Depth of dlopen calls on this thread (> 1: called from a constructor).
int dlopen_depth_on_this_thread();
// How many dlopen calls have begun so far (a sequence number).
uint64_t dlopen_begins();
// dlopen calls in flight in the process now.
int dlopens_in_flight();
// True when a thread exists now that did not when the oldest dlopen in
// flight began (or when that cannot be told). Throws std::bad_alloc when
// memory ran out reading the threads (core/oom.h: the refresh is redone).
bool threads_started_during_dlopen();

}  // namespace sled
