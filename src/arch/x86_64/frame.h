/* Register-save layout of the x86_64 trampolines, shared by trampoline.S and
 * C++ (struct sled_regs). Offsets are from %rsp after the trampoline's
 * `sub $SLED_FRAME_SIZE, %rsp`. Only the registers the ABI needs are saved:
 * the six integer argument registers, %rax (varargs SSE count), %r10 (static
 * chain) and %xmm0-7 (FP arguments); %r11 is free scratch at a call. */
#ifndef SLED_ARCH_X86_64_FRAME_H
#define SLED_ARCH_X86_64_FRAME_H

#define SLED_FRAME_RDI 0
#define SLED_FRAME_RSI 8
#define SLED_FRAME_RDX 16
#define SLED_FRAME_RCX 24
#define SLED_FRAME_R8 32
#define SLED_FRAME_R9 40
#define SLED_FRAME_RAX 48
#define SLED_FRAME_R10 56
#define SLED_FRAME_IP 64        /* function entry */
#define SLED_FRAME_PARENT 72    /* return address in the caller */
#define SLED_FRAME_SP 80        /* %rsp at the function's entry */
#define SLED_FRAME_REDIRECT 88  /* non-zero: continue there (IPMODIFY) */
#define SLED_FRAME_XMM0 96      /* xmm0..xmm7, 16 bytes each */
#define SLED_FRAME_SIZE 224     /* multiple of 16: keeps the call aligned */

#ifdef __cplusplus
#include <cstddef>
#include <cstdint>
struct sled_regs {
  uint64_t gpr[8]; /* rdi rsi rdx rcx r8 r9 rax r10 */
  uint64_t ip;
  uint64_t parent_ip;
  uint64_t sp;
  uint64_t redirect;
  unsigned char xmm[8][16];
};
static_assert(offsetof(sled_regs, gpr) == SLED_FRAME_RDI);
static_assert(offsetof(sled_regs, gpr) + 7 * 8 == SLED_FRAME_R10);
static_assert(offsetof(sled_regs, ip) == SLED_FRAME_IP);
static_assert(offsetof(sled_regs, parent_ip) == SLED_FRAME_PARENT);
static_assert(offsetof(sled_regs, sp) == SLED_FRAME_SP);
static_assert(offsetof(sled_regs, redirect) == SLED_FRAME_REDIRECT);
static_assert(offsetof(sled_regs, xmm) == SLED_FRAME_XMM0);
static_assert(sizeof(sled_regs) == SLED_FRAME_SIZE);
static_assert(SLED_FRAME_SIZE % 16 == 0);
#endif

#endif
