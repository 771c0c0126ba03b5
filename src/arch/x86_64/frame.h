/* Register-save layout of the x86_64 trampolines, shared by trampoline.S and
 * C++ (struct sled_regs). Offsets are from %rsp after the trampoline's
 * `sub $SLED_FRAME_SIZE, %rsp`. Only the registers the ABI needs are saved:
 * the six integer argument registers, %rax (varargs SSE count), %r10 (static
 * chain) and %xmm0-7 (FP arguments); %r11 is free scratch at a call.
 *
 * Above the frame sit the return address into the traced function's body
 * and, above it, the caller's return address; the accessors derive ip,
 * parent ip and sp from them, so the hot path stores nothing extra. */
#ifndef SLED_ARCH_X86_64_FRAME_H
#define SLED_ARCH_X86_64_FRAME_H

#define SLED_FRAME_RDI 0
#define SLED_FRAME_R10 56
#define SLED_FRAME_XMM0 64           /* xmm0..xmm7, 16 bytes each */
#define SLED_FRAME_THREAD 192        /* the thread record, kept across the callback */
#define SLED_FRAME_OPS 200           /* the ops being called (IPMODIFY check) */
#define SLED_FRAME_SIZE 208          /* multiple of 16: keeps the callback's stack aligned */
#define SLED_OPS_FLAGS 16            /* offsetof(sled_ops, flags) */
#define SLED_OPS_FL_SAVES_REGS_BIT 4 /* SLED_OPS_FL_SAVES_REGS */

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>

#include "sled/sled.h"

struct sled_regs {
  uint64_t gpr[8]; /* rdi rsi rdx rcx r8 r9 rax r10 */
  unsigned char xmm[8][16];
  void *thread;
  const sled_ops *ops;

  uintptr_t *body_slot() {
    return reinterpret_cast<uintptr_t *>(reinterpret_cast<char *>(this) + SLED_FRAME_SIZE);
  }
  const uintptr_t *body_slot() const {
    return reinterpret_cast<const uintptr_t *>(reinterpret_cast<const char *>(this) +
                                               SLED_FRAME_SIZE);
  }
  /* The function's entry: its literal + 8, the literal being (body - 13) & ~7. */
  uintptr_t ip() const { return ((body_slot()[0] - 13) & ~uintptr_t{7}) + 8; }
  uintptr_t parent_ip() const { return body_slot()[1]; }
  uintptr_t sp() const { return reinterpret_cast<uintptr_t>(body_slot() + 1); }
  /* Past SLED_REGS_MAX_ARGS: 0 (the stack above is not the arguments'). */
  uintptr_t arg(unsigned n) const {
    if (n >= SLED_REGS_MAX_ARGS) return 0;
    return n < 6 ? gpr[n] : reinterpret_cast<const uintptr_t *>(sp())[n - 5];
  }
  /* The trampoline returns through the body slot: redirect it (IPMODIFY). */
  void set_ip(uintptr_t new_ip) { body_slot()[0] = new_ip; }
  /* Where the function's own return address lives (graph ops rewrite it),
   * and the stack pointer its `ret` leaves: the shadow-stack key. */
  uintptr_t *parent_slot() { return body_slot() + 1; }
  uintptr_t return_sp() const { return sp() + 8; }
};
static_assert(offsetof(sled_regs, gpr) == SLED_FRAME_RDI);
static_assert(offsetof(sled_regs, gpr) + 7 * 8 == SLED_FRAME_R10);
static_assert(offsetof(sled_regs, xmm) == SLED_FRAME_XMM0);
static_assert(offsetof(sled_regs, thread) == SLED_FRAME_THREAD);
static_assert(offsetof(sled_regs, ops) == SLED_FRAME_OPS);
static_assert(sizeof(sled_regs) == SLED_FRAME_SIZE);
static_assert(SLED_FRAME_SIZE % 16 == 0);
static_assert(offsetof(sled_ops, flags) == SLED_OPS_FLAGS);
static_assert(SLED_OPS_FL_SAVES_REGS == SLED_OPS_FL_SAVES_REGS_BIT);
#endif

#endif
