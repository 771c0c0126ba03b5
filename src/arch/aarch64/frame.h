/* Register-save layout of the aarch64 trampolines, shared by trampoline.S
 * and C++ (struct sled_regs). Offsets are from sp after the trampoline's
 * `sub sp, sp, #SLED_FRAME_SIZE`. Saved: x0-x7 (arguments), x8 (indirect
 * result), x9 (the traced function's own LR, moved there by the site's
 * `mov x9, x30`), q0-q7 (FP/SIMD arguments). At the top sit two frame
 * records so frame-pointer unwinders can walk through a traced call:
 *   FPREC_TRAMP    {&FPREC_CALLSITE, x30}   x30 = the function's body
 *   FPREC_CALLSITE {caller's fp, x9}   the traced function's caller
 * x29 points at FPREC_TRAMP while the callback runs; FPREC_CALLSITE sits
 * above it, as unwinders expect each record to be above the last. The body
 * slot (the second word of FPREC_TRAMP) is where the trampoline returns
 * to: an IPMODIFY callback redirects the call by rewriting it. */
#ifndef SLED_ARCH_AARCH64_FRAME_H
#define SLED_ARCH_AARCH64_FRAME_H

#define SLED_FRAME_X0 0
#define SLED_FRAME_X9 72
#define SLED_FRAME_Q0 80      /* q0..q7, 16 bytes each */
#define SLED_FRAME_THREAD 208 /* the thread record, kept across the callback */
#define SLED_FRAME_OPS 216    /* the ops being called (IPMODIFY check) */
#define SLED_FRAME_FPREC_TRAMP 224
#define SLED_FRAME_BODY 232 /* second word of FPREC_TRAMP */
#define SLED_FRAME_FPREC_CALLSITE 240
#define SLED_FRAME_SIZE 256          /* multiple of 16: sp stays aligned */
#define SLED_OPS_FLAGS 16            /* offsetof(sled_ops, flags) */
#define SLED_OPS_FL_SAVES_REGS_BIT 4 /* SLED_OPS_FL_SAVES_REGS */

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>

#include "sled/sled.h"

struct sled_regs {
  uint64_t gpr[10]; /* x0..x9; x9 = the caller's return address */
  unsigned char q[8][16];
  void *thread;
  const sled_ops *ops;
  uint64_t fprec_tramp[2]; /* [1]: the body slot */
  uint64_t fprec_callsite[2];

  uintptr_t *body_slot() { return reinterpret_cast<uintptr_t *>(&fprec_tramp[1]); }
  const uintptr_t *body_slot() const {
    return reinterpret_cast<const uintptr_t *>(&fprec_tramp[1]);
  }
  /* The function's entry: its literal + 8, the literal being (body & ~7) - 16
   * (body = the address after the site's bl, with or without bti c). */
  uintptr_t ip() const { return ((body_slot()[0] & ~uintptr_t{7}) - 16) + 8; }
  uintptr_t parent_ip() const { return gpr[9]; }
  /* sp at the function's entry: where its stack arguments start. */
  uintptr_t sp() const { return reinterpret_cast<uintptr_t>(this) + SLED_FRAME_SIZE; }
  /* Past SLED_REGS_MAX_ARGS: 0 (the stack above is not the arguments'). */
  uintptr_t arg(unsigned n) const {
    if (n >= SLED_REGS_MAX_ARGS) return 0;
    return n < 8 ? gpr[n] : reinterpret_cast<const uintptr_t *>(sp())[n - 8];
  }
  /* The trampoline returns through the body slot: redirect it (IPMODIFY). */
  void set_ip(uintptr_t new_ip) { body_slot()[0] = new_ip; }
  /* Where the function's own return address lives until the trampoline
   * puts it back in x30 (graph ops rewrite it there, before the body's
   * paciasp signs it), and the stack pointer its `ret` leaves: the
   * shadow-stack key. The copy in fprec_callsite stays the real one, for
   * unwinders walking through the callback. */
  uintptr_t *parent_slot() { return reinterpret_cast<uintptr_t *>(&gpr[9]); }
  uintptr_t return_sp() const { return sp(); }
};
static_assert(offsetof(sled_regs, gpr) == SLED_FRAME_X0);
static_assert(offsetof(sled_regs, gpr) + 9 * 8 == SLED_FRAME_X9);
static_assert(offsetof(sled_regs, q) == SLED_FRAME_Q0);
static_assert(offsetof(sled_regs, thread) == SLED_FRAME_THREAD);
static_assert(offsetof(sled_regs, ops) == SLED_FRAME_OPS);
static_assert(offsetof(sled_regs, fprec_callsite) == SLED_FRAME_FPREC_CALLSITE);
static_assert(offsetof(sled_regs, fprec_tramp) == SLED_FRAME_FPREC_TRAMP);
static_assert(offsetof(sled_regs, fprec_tramp) + 8 == SLED_FRAME_BODY);
static_assert(sizeof(sled_regs) == SLED_FRAME_SIZE);
static_assert(SLED_FRAME_SIZE % 16 == 0);
static_assert(offsetof(sled_ops, flags) == SLED_OPS_FLAGS);
static_assert(SLED_OPS_FL_SAVES_REGS == SLED_OPS_FL_SAVES_REGS_BIT);
#endif

#endif
