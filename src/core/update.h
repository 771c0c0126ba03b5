// The update plan: turns changes of "which ops trace which site" into the
// smallest set of literal and call writes, checks every old byte first,
// applies them in a safe order, and commits the accounting only on success.
#pragma once
#include <vector>

#include "core/matcher.h"
#include "core/registry.h"

namespace sled {

// Moves st's traced set to `target` (sorted; taken by value: it may
// become st.traced). 0 or negative errno; on failure nothing is patched
// and st.traced is unchanged.
int retrace_ops(Registry &r, OpsState &st, SiteSet target);
// Gives a newly added module's sites to every registered ops that selects
// them. *ran_out: an allocation failed (nothing changed; try again later),
// as opposed to a lasting refusal such as no memory within call reach.
int attach_module(Registry &r, Module &m, bool *ran_out = nullptr);
// Forgets a module that is gone from memory (no text is written).
void detach_module(Registry &r, Module &m);
// Disables every site of a module that is about to be unloaded (a normal
// batch and a grace period), then forgets it like detach_module. 0, or a
// negative errno with the module still in place.
int retire_module(Registry &r, Module &m);
// Moves every traced site to the form the strategy `to` wants, live.
int switch_strategy(Registry &r, Strategy to);

}  // namespace sled
