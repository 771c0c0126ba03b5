// Pool of generated trampolines and their descriptors.
#include "core/dyntramp.h"

#include <atomic>
#include <vector>

#include "arch/arch.h"
#include "core/dispatch.h"
#include "core/near_stub.h"

namespace sled {
namespace {

struct DynTramp {
  uintptr_t code;
  DynDescriptor *desc;    // never freed
  const sled_ops *owner;  // null: in the pool
};
// Never destroyed: descriptors live as long as the process (and leak
// checkers at exit must still see the pointers to them). Made on first use,
// under the lock, not by a static initialiser: an allocation failure there
// would terminate the program before main (core/oom.h).
std::vector<DynTramp> &tramps() {
  static auto *v = new std::vector<DynTramp>();
  return *v;
}

}  // namespace

uintptr_t dyntramp_for(const sled_ops *ops, uintptr_t lo, uintptr_t hi) {
  DynTramp *pooled = nullptr;
  for (DynTramp &t : tramps()) {
    if (!arch::call_reaches(lo, hi, t.code)) continue;
    if (t.owner == ops) return t.code;
    if (!t.owner && !pooled) pooled = &t;
  }
  if (pooled) {
    pooled->owner = ops;
    // Release: a thread that reads the descriptor (acquire) sees the ops.
    pooled->desc->ops.store(ops, std::memory_order_release);
    return pooled->code;
  }
  tramps().reserve(tramps().size() + 1);  // may throw: before anything is placed
  auto *desc = new (std::nothrow) DynDescriptor();
  if (!desc) return 0;
  desc->ops.store(ops, std::memory_order_release);
  uint8_t code[arch::kDynTrampSize];
  uintptr_t at = near_code(lo, hi, arch::kDynTrampSize, [&](uintptr_t where) {
    arch::encode_dyntramp(where, reinterpret_cast<uintptr_t>(desc), arch::dyntramp_body(), code);
    return code;
  });
  if (!at) {
    delete desc;
    return 0;
  }
  tramps().push_back(DynTramp{at, desc, ops});
  return at;
}

void dyntramp_release(const sled_ops *ops) {
  for (DynTramp &t : tramps())
    if (t.owner == ops) {
      t.owner = nullptr;
      t.desc->ops.store(nullptr, std::memory_order_release);
    }
}

uint64_t dyntramp_count() { return tramps().size(); }

}  // namespace sled
