// Choosing a tracer's functions: the filter= and notrace= options (sled.h
// patterns, commas or spaces between them) applied to an ops before it is
// registered, and the clean-up after a failed start. Public API only.
#pragma once
#include "sled/sled.h"
#include "tracers/tracer.h"

namespace sled::tracers {

// sled_set_filter / sled_set_notrace with reset, for each pattern list that
// is not null. 0, or sled's code (-ENOENT: matches no function; -EINVAL:
// malformed) with set_error naming the option and sled's detail; the ops'
// sets are then forgotten (forget_filters).
int set_patterns(sled_ops *ops, const std::string *filter, const std::string *notrace);
int apply_filters(sled_ops *ops, const Options &opts);

// Makes sled forget the sets of an ops that is not registered (after a
// failed set_patterns or register), so that its storage is a fresh ops.
void forget_filters(sled_ops *ops);

// Registers ops (plain) after set_patterns; on failure forgets its sets and
// sets the error. 0 or sled's code.
int register_or_forget(sled_ops *ops, const char *what);

}  // namespace sled::tracers
