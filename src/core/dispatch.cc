// Hot path. Called by the trampoline with the address of the site's literal.
//
// Grace-period protocol, reader side (writer side: grace.cc):
//   nest = nest + 1      (store; only this thread writes it)
//   ops  = *literal      (load)
//   ... call ops->func ...
//   gen  = gen + 1       (outermost exit only)
//   nest = nest - 1      (release store)
// The writer stores literals, runs membarrier(PRIVATE_EXPEDITED) and then
// reads every nest. membarrier puts a full barrier on every running thread
// between the writer's literal stores and its nest loads, so either the
// writer sees nest > 0 (and waits for the section to end), or this thread's
// literal load comes after the barrier and sees the new literal. That is why
// relaxed stores and a compiler barrier suffice here: the hot path has no
// fence. The release on the final store orders every read of the ops before
// the writer may free it. Under TSan (which cannot see membarrier) the
// accesses are seq_cst, the classic Dekker pairing.
//
// Non-local exits (longjmp, siglongjmp, a C++ exception out of a callback)
// skip the final store and leave nest > 0. The outermost entry records its
// frame first (entry_sp = the sled_regs address, whose `thread` slot names
// the record); a later entry on the thread (below) or a sled call
// (in_sled_callback) that finds the frame popped or overwritten ends that
// section itself, and a grace period that has waited long enough checks the
// same from outside (thread_state.cc). Only this thread writes nest and gen.
//
// A thread that executed the call but not yet the first store is not seen
// by the writer: it then reads the literal after the writer's change, which
// always names a live ops (never a freed one): a disabled site's literal
// names the nop ops.
#include "core/dispatch.h"

#include <atomic>

#include "arch/arch.h"
#include "arch/frame.h"
#include "core/direct.h"
#include "core/list_walker.h"
#include "core/registry.h"
#include "core/thread_state.h"

namespace sled {
namespace {
#ifdef SLED_TSAN
std::atomic<uint64_t> g_literal_epoch{0};
#endif

inline bool may_call(const sled_ops *ops, uint32_t depth) {
  return depth == 0 || (ops->flags & SLED_OPS_FL_RECURSION_SAFE);
}
}  // namespace

void publish_literals() {
#ifdef SLED_TSAN
  g_literal_epoch.fetch_add(1, std::memory_order_seq_cst);
#endif
}

void list_ops_func(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs) {
  auto *list = static_cast<ListOps *>(ops->private_data);
  // The list itself runs at the caller's depth + 1.
  uint32_t depth = sled_thread_record->nest.load(std::memory_order_relaxed) - 1;
  for (uint32_t i = 0; i < list->count; i++) {
    sled_ops *member = list->members[i];
    // A direct ops has no callback: the trampoline continues into it.
    if (direct_of(member) || !may_call(member, depth)) continue;
    regs->ops = member;
    member->func(ip, parent_ip, member, regs);
  }
  regs->ops = ops;
}

}  // namespace sled

using sled::ThreadRecord;

extern "C" __attribute__((visibility("hidden"))) void sled_dispatch(uintptr_t literal,
                                                                    uintptr_t parent_ip,
                                                                    sled_regs *regs, int walk) {
  // The direct-list trampoline continues into regs->ops when non-null: no
  // continuation unless the section below says so.
  if (walk == 2) regs->ops = nullptr;
  ThreadRecord *t = sled_thread_record;
  if (__builtin_expect(!t, 0)) {
    t = sled::thread_record_claim();
    if (!t) return;  // no memory for a record: skip the callback, never crash
  }
  uint32_t depth = sled::section_enter(t, regs);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  auto *ops = walk == 1 ? &sled_list_walker_ops
                        : reinterpret_cast<sled_ops *>(sled::arch::load_literal(literal));
#ifdef SLED_TSAN
  (void)sled::g_literal_epoch.load(std::memory_order_seq_cst);
#endif
  regs->ops = ops;
  if (sled::may_call(ops, depth))
    ops->func(literal + sled::arch::kLiteralSize, parent_ip, ops, regs);
  // The direct-list trampoline continues into this (0: returns into the
  // body); read inside the section, while the ops is alive. Whatever the
  // recursion guard decided: the direct trampoline has no guard to obey.
  if (walk == 2) regs->ops = reinterpret_cast<const sled_ops *>(sled::direct_of(ops));
  sled::section_leave(t, depth);
}
