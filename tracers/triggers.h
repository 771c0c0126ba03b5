// Triggers (sled_trigger_add / sled_trigger_clear): called by trace_api.cc
// under its mutex, never from a callback.
#pragma once
#include <string>

namespace sled::tracers {

// "PATTERN:ACTION[:COUNT]". 0 or -errno with set_error; -EINVAL (nothing
// changed) for a malformed spec.
int trigger_add(const std::string &spec);
// Unregisters and frees every trigger. 0, or the first failure (a trigger
// sled failed to unregister is kept, not freed).
int trigger_clear();

}  // namespace sled::tracers
