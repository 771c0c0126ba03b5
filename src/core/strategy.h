// The three dispatch strategies and what each makes a site call. Pure
// decisions plus the lookup of call addresses; no text is written here.
#pragma once
#include "core/module.h"

namespace sled {

enum class Strategy { kCallops, kList, kDyntramp };

// 0, or -EINVAL for an unknown name.
int parse_strategy(const char *name, Strategy *out);
const char *strategy_name(Strategy s);

// The call a site traced by nr_ops ops should hold under s. `literal` is
// what its literal will name: a list ops with a direct trampoline makes it
// a direct site under every strategy (core/direct.h).
CallKind desired_call(Strategy s, unsigned nr_ops, const sled_ops *literal = nullptr);

// The address a call of `kind` from module m goes to (a trampoline, a near
// stub slot or a generated trampoline); `single` is the site's one ops for
// kCallDyn, its literal (naming the direct trampoline) for kCallDirect. 0 when nothing can be
// reached (no memory near the module).
uintptr_t call_address(Module &m, CallKind kind, const sled_ops *single);

}  // namespace sled
