// The slim update path: the common batch of one ops taking every site it
// selects from nobody (register) or giving them all back (unregister),
// under the callops strategy. Same protocol, checks and guarantees as the
// general path (update.cc), without its per-site plan arrays. Declines
// (kSlimDeclined, nothing done) whenever the batch is anything else.
#pragma once
#include "core/matcher.h"
#include "core/registry.h"

namespace sled {

inline constexpr int kSlimDeclined = 1;

// Moves st's traced set to `target` (sorted) when the batch is the slim
// case: 0 or a negative errno as retrace_ops (on failure nothing is patched
// and st.traced is unchanged; on success `target` may have been moved into
// st.traced). kSlimDeclined: not the slim case, nothing changed.
int retrace_slim(Registry &r, OpsState &st, SiteSet &target);

}  // namespace sled
