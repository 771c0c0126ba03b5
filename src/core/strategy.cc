// Strategy decisions (see DESIGN.md "Dispatch strategies"):
//   callops   every traced site calls the CALL_OPS trampoline;
//   list      every traced site calls the list trampoline;
//   dyntramp  a site traced by one ops calls that ops' generated trampoline,
//             a site traced by several the list trampoline.
// Direct calls, under every strategy (the kernel's rule): a site traced by a
// direct ops alone calls that ops' trampoline; one it shares with other ops
// calls the direct-list trampoline, which reads the literal as callops does
// (under list too: the site's own list ops, not a walk of every ops) and
// continues into the direct trampoline.
#include "core/strategy.h"

#include <cerrno>
#include <cstring>

#include "arch/arch.h"
#include "core/direct.h"
#include "core/dyntramp.h"
#include "core/near_stub.h"

namespace sled {

int parse_strategy(const char *name, Strategy *out) {
  if (!name) return -EINVAL;
  if (strcmp(name, "callops") == 0)
    *out = Strategy::kCallops;
  else if (strcmp(name, "list") == 0)
    *out = Strategy::kList;
  else if (strcmp(name, "dyntramp") == 0)
    *out = Strategy::kDyntramp;
  else
    return -EINVAL;
  return 0;
}

const char *strategy_name(Strategy s) {
  switch (s) {
    case Strategy::kList:
      return "list";
    case Strategy::kDyntramp:
      return "dyntramp";
    default:
      return "callops";
  }
}

CallKind desired_call(Strategy s, unsigned nr_ops, const sled_ops *literal) {
  if (nr_ops == 0) return kCallNone;
  if (literal && direct_of(literal)) return nr_ops == 1 ? kCallDirect : kCallDirectList;
  switch (s) {
    case Strategy::kList:
      return kCallList;
    case Strategy::kDyntramp:
      return nr_ops == 1 ? kCallDyn : kCallList;
    default:
      return kCallOps;
  }
}

uintptr_t call_address(Module &m, CallKind kind, const sled_ops *single) {
  switch (kind) {
    case kCallOps:
      return m.call_target;
    case kCallList:
      if (!m.list_target)
        m.list_target = near_call_target(m.reach_lo, m.reach_hi, arch::list_trampoline());
      return m.list_target;
    case kCallDyn:
      return dyntramp_for(single, m.reach_lo, m.reach_hi);
    case kCallDirect:
      return single && direct_of(single)
                 ? near_call_target(m.reach_lo, m.reach_hi, direct_of(single))
                 : 0;
    case kCallDirectList:
      if (!m.direct_list_target)
        m.direct_list_target =
            near_call_target(m.reach_lo, m.reach_hi, arch::direct_list_trampoline());
      return m.direct_list_target;
    default:
      return 0;
  }
}

}  // namespace sled
