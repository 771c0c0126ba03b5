// The list strategy's view of the ops: every registered ops with the set of
// entry addresses it traces, walked on every call through the list
// trampoline (ftrace_ops_list_func). Published as an immutable snapshot
// with release; replaced snapshots and sets are freed after a grace period.
// Maintained only while a strategy other than callops is in force.
#pragma once
#include <cstdint>
#include <vector>

#include "core/registry.h"
#include "sled/sled.h"

extern "C" sled_ops sled_list_walker_ops;

namespace sled {

// Open-addressing set of entry addresses (0 marks an empty slot).
struct IpSet {
  uint64_t mask;
  uintptr_t slots[];
};
bool ipset_contains(const IpSet *set, uintptr_t ip);

// Rebuilds the snapshot from the registry's registered ops (sets of ops
// whose traced set changed are rebuilt, others reused). Appends what the
// old snapshot owned and no longer needs to `retired` (free after a grace
// period with walker_free). `enabled` false publishes an empty snapshot.
void walker_publish(Registry &r, bool enabled, std::vector<void *> *retired);
void walker_free(std::vector<void *> &retired);

}  // namespace sled
