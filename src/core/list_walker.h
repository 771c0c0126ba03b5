// The list strategy's view of the ops: every registered ops with the set of
// entry addresses it traces, walked on every call through the list
// trampoline (ftrace_ops_list_func). Published as an immutable snapshot
// with release; replaced snapshots and sets are freed after a grace period.
// Maintained only while a strategy other than callops is in force.
#pragma once
#include <cstdint>
#include <functional>
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
// 0, or -ENOMEM with nothing changed.
int walker_publish(Registry &r, bool enabled, std::vector<void *> *retired);

// Whether the published snapshot lists `ops` (registry lock held).
bool walker_lists(const sled_ops *ops);

// The same in two steps, for an update that must allocate everything
// before its first write: prepare allocates (0 or -ENOMEM, nothing
// changed; it may throw std::bad_alloc, also with nothing changed), commit
// cannot fail. `fresh` gives the traced set an ops will have once the
// update commits (null: its current one); commit runs after that.
struct WalkerSnapshot;
struct WalkerUpdate;
void walker_discard(WalkerUpdate &u);
struct WalkerUpdate {
  bool ready = false, enabled = false;
  std::vector<std::pair<OpsState *, IpSet *>> built;  // new sets, installed by commit
  WalkerSnapshot *snapshot = nullptr;
  WalkerUpdate() = default;
  WalkerUpdate(const WalkerUpdate &) = delete;
  WalkerUpdate &operator=(const WalkerUpdate &) = delete;
  ~WalkerUpdate() { walker_discard(*this); }
};
using TracedLookup = std::function<const std::vector<Site *> *(const OpsState &)>;
int walker_prepare(Registry &r, bool enabled, const TracedLookup &fresh, WalkerUpdate *u,
                   std::vector<void *> *retired);
void walker_commit(Registry &r, WalkerUpdate &u, std::vector<void *> *retired);
// walker_discard frees what prepare allocated and commit did not take.
void walker_free(std::vector<void *> &retired);

}  // namespace sled
