// Graph ops (graph.h): the entry thunk that hooks a call's return, the
// return path the arch return handler and unwind landing pad call, and the
// registration API. Core decides here; arch/*/graph.S only moves registers.
//
// Lifetime rule. A hooked call remembers its graph ops by slot and
// registration generation, never by pointer: unregistering clears the slot,
// then waits for a grace period (the return path reads the slot inside a
// read section, like the trampolines read a literal), so a pending return
// on any thread afterwards finds the slot empty or reused with another
// generation, skips the callback, and still returns to the real caller
// through its shadow frame. The return handler itself is static code and
// never goes away.
#include "sled/graph.h"

#include <cxxabi.h>
#include <pthread.h>
#include <unistd.h>
#include <unwind.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>

#include "arch/arch.h"
#include "arch/frame.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "core/grace.h"
#include "core/graph_internal.h"
#include "core/oom.h"
#include "core/registry.h"
#include "core/shadow_stack.h"
#include "core/thread_state.h"

extern "C" {
// arch/*/graph.S
extern char sled_graph_return_handler[];
extern char sled_graph_landing_pad[];
}

namespace sled::graph {
namespace {

struct Slot {
  std::atomic<sled_graph_ops *> ops{nullptr};
  std::atomic<uint32_t> gen{0};
};
Slot g_slots[SLED_GRAPH_MAX_OPS];
uint32_t g_next_gen = 1;  // under g_api_lock
std::mutex g_api_lock;
std::atomic<uint64_t> g_missed_nomem{0};

#ifdef SLED_TSAN
constexpr std::memory_order kSlotLoad = std::memory_order_seq_cst;
#else
// Acquire pairs with register's release store: the callback fields of the
// ops are visible. Reading inside a read section is what keeps the ops
// alive (the unregister's grace period waits for the section).
constexpr std::memory_order kSlotLoad = std::memory_order_acquire;
#endif

uintptr_t handler() { return reinterpret_cast<uintptr_t>(sled_graph_return_handler); }

sled_graph_ops *slot_ops(const Hook &h) {
  if (h.slot >= SLED_GRAPH_MAX_OPS) return nullptr;
  sled_graph_ops *g = g_slots[h.slot].ops.load(kSlotLoad);
  if (!g || g_slots[h.slot].gen.load(std::memory_order_relaxed) != h.gen) return nullptr;
  return g;
}

void bump(std::atomic<uint64_t> &c, uint64_t n = 1) {
  // Owner-only counter: a plain load + store, read relaxed by stats.
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Calls the return callbacks of frame i (last hooked first) and removes it,
// shifting frames pushed after it (live ones on other stacks) down.
void finish_frame(ShadowStack *s, uint32_t i, const sled_regs *ret_regs, bool call) {
  ShadowFrame f = s->frames[i];
  if (call) {
    sled_graph_ret r{};
    r.ip = f.ip;
    r.parent_ip = f.orig;
    r.depth = i;
    r.unwound = ret_regs == nullptr;
    if (ret_regs) arch::graph_return_values(ret_regs, r.retval, r.fp_retval);
    for (uint32_t k = f.count; k-- > 0;) {
      const Hook &h = s->data[f.first + k];
      sled_graph_ops *g = slot_ops(h);
      if (!g) continue;
      r.data = h.data;
      g->ret(&r, g);
    }
  }
  if (ret_regs == nullptr) bump(s->unwound);
  if (i + 1 == s->depth) {
    s->depth = i;
    s->data_top = f.first;
    return;
  }
  // Rare: a frame returning below frames of another stack (coroutines).
  uint32_t moved_from = f.first + f.count;
  for (uint32_t d = moved_from; d < s->data_top; d++) s->data[d - f.count] = s->data[d];
  s->data_top -= f.count;
  for (uint32_t j = i + 1; j < s->depth; j++) {
    s->frames[j - 1] = s->frames[j];
    s->frames[j - 1].first -= f.count;
  }
  s->depth--;
}

// Frames that can no longer return through the handler now that a call
// leaves (or is entered) with stack pointer `key` on the same stack: lower
// ones on the home stack were left by longjmp or an unwinder that skipped
// the handler; on entry (`entering`), one with the same key whose slot no
// longer names the handler was overwritten by this call's return address
// (while a slot that still names it is a tail call from the hooked
// function: that frame stays, below the new one). They get unwound exits,
// innermost first.
void drop_stale_above(ShadowStack *s, uintptr_t key, bool entering, bool slot_hooked, bool call) {
  while (s->depth > 0) {
    const ShadowFrame &top = s->frames[s->depth - 1];
    bool stale = entering && top.key == key && !slot_hooked;
    if (top.key < key && s->same_home(top.key, key)) stale = true;
    if (!stale) return;
    finish_frame(s, s->depth - 1, nullptr, call);
  }
}

[[noreturn]] void lost_return(uintptr_t key) {
  // No frame for this return: the shadow stack was corrupted by the
  // program. There is no address to return to; say so and stop.
  char msg[128];
  int n = snprintf(msg, sizeof msg, "sled: no shadow frame for a hooked return (sp %#lx)\n",
                   static_cast<unsigned long>(key));
  if (n > 0) (void)!write(2, msg, static_cast<size_t>(n));
  abort();
}

}  // namespace

// The engine ops' callback of every graph ops.
void entry_thunk(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs) {
  auto *g = static_cast<sled_graph_ops *>(ops->private_data);
  ShadowStack *s = current_stack();
  if (__builtin_expect(!s, 0)) {
    g_missed_nomem.fetch_add(1, std::memory_order_relaxed);  // rare: no memory at all
    return;
  }
  uintptr_t key = regs->return_sp();
  uintptr_t *slot = regs->parent_slot();
  bool slot_hooked = *slot == handler();
  // Another graph ops hooked this very call already (several on one site):
  // same key, and the same section (a tail call from a hooked function has
  // the same key too, but comes through a new trampoline entry).
  uint32_t section = sled_thread_record->gen.load(std::memory_order_relaxed);
  bool join = slot_hooked && s->depth > 0 && s->frames[s->depth - 1].key == key &&
              s->frames[s->depth - 1].section == section;
  if (!join) drop_stale_above(s, key, true, slot_hooked, true);
  if (s->data_top == s->data_cap || (!join && s->depth == s->cap)) {
    bump(s->missed_depth);
    return;
  }
  Hook &h = s->data[s->data_top];
  h.data = 0;
  if (g->entry && !g->entry(ip, join ? s->frames[s->depth - 1].orig : parent_ip, g, regs, &h.data))
    return;
  h.slot = g->internal_slot_ - 1;
  h.gen = g->internal_gen_;
  if (!join) {
    // After a tail call *slot is the handler itself: this frame's return
    // then runs the handler again for the frame below.
    s->frames[s->depth] = ShadowFrame{key, *slot, ip, s->data_top, 0, section, 0};
    s->depth++;
    *slot = handler();
  }
  s->frames[s->depth - 1].count++;
  s->data_top++;
  bump(s->hooked);
}

uintptr_t real_return_address(uintptr_t key, uintptr_t seen) {
  if (seen != handler()) return seen;
  ShadowStack *s = current_stack();
  if (s)
    for (uint32_t i = s->depth; i-- > 0;)
      if (s->frames[i].key == key) return s->frames[i].orig;
  return seen;
}

}  // namespace sled::graph

using namespace sled;
using namespace sled::graph;

// From arch/*/graph.S. `frame` is a trampoline-shaped frame holding the
// return-value registers (ret_regs) or nothing useful (an unwind); `key` the
// stack pointer the hooked function's return left. Returns where to go.
extern "C" __attribute__((visibility("hidden"))) uintptr_t sled_graph_leave(sled_regs *frame,
                                                                            uintptr_t key,
                                                                            int unwound) {
  ThreadRecord *t = sled_thread_record;
  if (!t) t = thread_record_claim();
  uint32_t depth = t ? section_enter(t, frame) : 1;
  ShadowStack *s = existing_stack();
  uint32_t i = s ? s->depth : 0;
  // Callbacks only outside other sled callbacks (the recursion guard).
  bool call = depth == 0;
  uintptr_t orig;
  if (__builtin_expect(i > 0 && s->frames[i - 1].key == key, 1)) {
    orig = s->frames[i - 1].orig;  // the usual case: the top frame returns
    finish_frame(s, i - 1, unwound ? nullptr : frame, call);
  } else {
    while (i > 0 && s->frames[i - 1].key != key) i--;
    if (i == 0) lost_return(key);
    orig = s->frames[i - 1].orig;
    drop_stale_above(s, key, false, false, call);
    // drop_stale_above may not reach it (frames of other stacks above).
    for (i = s->depth; i > 0 && s->frames[i - 1].key != key;) i--;
    if (i > 0) finish_frame(s, i - 1, unwound ? nullptr : frame, call);
  }
  if (t) section_leave(t, depth);
  return orig;
}

// The handler's unwind personality: an unwinder reaching a hooked call's
// return address stops here ("handler found" in the search phase), lands in
// sled_graph_landing_pad, which pops the frame and continues the unwinding
// from a frame whose return address is the real one.
extern "C" __attribute__((visibility("hidden"))) _Unwind_Reason_Code sled_graph_personality(
    int version, _Unwind_Action actions, _Unwind_Exception_Class, _Unwind_Exception *exc,
    _Unwind_Context *ctx) {
  if (version != 1 || _Unwind_GetIP(ctx) != handler()) return _URC_CONTINUE_UNWIND;
  if (actions & _UA_SEARCH_PHASE) return _URC_HANDLER_FOUND;
  _Unwind_SetGR(ctx, __builtin_eh_return_data_regno(0), reinterpret_cast<uintptr_t>(exc));
  _Unwind_SetIP(ctx, reinterpret_cast<uintptr_t>(sled_graph_landing_pad));
  return _URC_INSTALL_CONTEXT;
}

// The landing pad's re-raise found no handler: the exception is uncaught,
// which terminates the program as it would have without sled.
extern "C" __attribute__((visibility("hidden"), noreturn)) void sled_graph_uncaught(
    _Unwind_Exception *exc) {
  __cxxabiv1::__cxa_begin_catch(exc);  // so the terminate handler can name it
  std::terminate();
}

namespace {
// A thread that exits with hooked calls pending (pthread_exit or a
// cancellation whose unwinding glibc ends with a longjmp to the thread's
// start as soon as it reaches start_thread's frame, which the outermost
// hooked call's return address stands for): their unwound exits, then
// the stack is recycled. Runs while the thread's record is still valid.
void flush_on_thread_exit() {
  if (ShadowStack *s = existing_stack(); s && s->depth > 0) {
    sled_regs frame{};
    ThreadRecord *t = sled_thread_record;
    uint32_t depth = section_enter(t, &frame);
    while (s->depth > 0) finish_frame(s, s->depth - 1, nullptr, depth == 0);
    section_leave(t, depth);
  }
  release_current_stack();
}

sled_graph_ops *registered(sled_graph_ops *g) {
  uint32_t s = g->internal_slot_;
  if (s == 0 || s > SLED_GRAPH_MAX_OPS) return nullptr;
  return g_slots[s - 1].ops.load(std::memory_order_relaxed) == g &&
                 g_slots[s - 1].gen.load(std::memory_order_relaxed) == g->internal_gen_
             ? g
             : nullptr;
}
}  // namespace

extern "C" {

SLED_API int sled_graph_supported(void) {
  if (arch::user_shadow_stack_active()) {
    set_last_error(
        "return addresses cannot be rewritten: this process runs with a hardware user shadow "
        "stack (CET shstk / arm64 GCS); graph ops are refused, plain ops keep working");
    return -EOPNOTSUPP;
  }
  return 0;
}

SLED_API int sled_graph_set_depth(unsigned depth) {
  if (depth == 0 || depth > 65536) {
    set_last_error("graph depth must be 1..65536");
    return -EINVAL;
  }
  set_default_depth(depth);
  return 0;
}

SLED_API int sled_register_graph_ops(sled_graph_ops *g) try {
  if (!g || !g->ret) {
    set_last_error("sled_register_graph_ops: NULL ops or return callback");
    return -EINVAL;
  }
  if (in_sled_callback()) return -EDEADLK;
  if (int r = sled_graph_supported(); r < 0) return r;
  set_thread_exit_hook(flush_on_thread_exit);
  std::lock_guard<std::mutex> lock(g_api_lock);
  if (registered(g)) return -EEXIST;
  uint32_t free_slot = SLED_GRAPH_MAX_OPS;
  for (uint32_t i = 0; i < SLED_GRAPH_MAX_OPS && free_slot == SLED_GRAPH_MAX_OPS; i++)
    if (!g_slots[i].ops.load(std::memory_order_relaxed)) free_slot = i;
  if (free_slot == SLED_GRAPH_MAX_OPS) {
    set_last_error("too many graph ops (SLED_GRAPH_MAX_OPS)");
    return -EBUSY;
  }
  uint32_t gen = g_next_gen++;
  g->internal_slot_ = free_slot + 1;
  g->internal_gen_ = gen;
  g->ops.func = entry_thunk;
  g->ops.private_data = g;
  // Never nested in another callback: the shadow stack's single-writer rule.
  g->ops.flags &= ~(SLED_OPS_FL_RECURSION_SAFE | SLED_OPS_FL_SAVES_REGS);
  g_slots[free_slot].gen.store(gen, std::memory_order_relaxed);
  // Release: a return path that acquires the pointer sees gen and the ops.
  g_slots[free_slot].ops.store(g, std::memory_order_release);
  int r = sled_register_ops(&g->ops);
  if (r < 0) {
    // Nothing was hooked with this registration (a failed register runs no
    // callback), so no pending return names the slot.
    g_slots[free_slot].ops.store(nullptr, std::memory_order_relaxed);
    g->internal_slot_ = 0;
  }
  return r;
}
SLED_CATCH_OOM(-ENOMEM)

SLED_API int sled_unregister_graph_ops(sled_graph_ops *g) try {
  if (!g) return -EINVAL;
  if (in_sled_callback()) return -EDEADLK;
  std::lock_guard<std::mutex> lock(g_api_lock);
  if (!registered(g)) return -ENOENT;
  Slot &slot = g_slots[g->internal_slot_ - 1];
  // Empty the slot first: the engine's grace period below then also covers
  // every return path that read it (see the lifetime rule above).
  slot.ops.store(nullptr, std::memory_order_seq_cst);
  int r = sled_unregister_ops(&g->ops);
  if (r < 0 && r != -ENOENT) {
    slot.ops.store(g, std::memory_order_release);  // still registered: restore
    return r;
  }
  if (r == -ENOENT) {
    // The engine had dropped the ops already: the grace period for the
    // slot is ours to run.
    RegistryLock registry_lock;
    (void)synchronize();  // a failed membarrier falls back (grace.cc)
  }
  g->internal_slot_ = 0;
  return 0;
}
SLED_CATCH_OOM(-ENOMEM)

SLED_API int sled_graph_get_stats(sled_graph_stats *out) {
  if (!out) return -EINVAL;
  std::memset(out, 0, sizeof *out);
  for (ShadowStack *s = all_stacks(); s; s = s->next) {
    out->threads++;
    out->hooked += s->hooked.load(std::memory_order_relaxed);
    out->unwound += s->unwound.load(std::memory_order_relaxed);
    out->missed_depth += s->missed_depth.load(std::memory_order_relaxed);
  }
  out->missed_nomem = g_missed_nomem.load(std::memory_order_relaxed);
  return 0;
}

}  // extern "C"
