/* x86_64 trampolines. A site's `call` lands here with the return address
 * into the traced function's body at 0(%rsp) and the caller's return address
 * at 8(%rsp). The literal is (body - 13) & ~7 with or without endbr64.
 * Live registers on entry: every argument register (rdi rsi rdx rcx r8 r9,
 * xmm0-7), rax (varargs), r10 (static chain). r11 is scratch. No pushfq:
 * the ABI does not need flags preserved across a call. */
#include "frame.h"

        .text
        .globl  sled_trampolines_begin
        .hidden sled_trampolines_begin
sled_trampolines_begin:
        .p2align 4
        .globl  sled_callops_trampoline
        .hidden sled_callops_trampoline
        .type   sled_callops_trampoline, @function
sled_callops_trampoline:
        .cfi_startproc
        sub     $SLED_FRAME_SIZE, %rsp
        .cfi_adjust_cfa_offset SLED_FRAME_SIZE
        mov     %rdi, SLED_FRAME_RDI(%rsp)
        mov     %rsi, SLED_FRAME_RSI(%rsp)
        mov     %rdx, SLED_FRAME_RDX(%rsp)
        mov     %rcx, SLED_FRAME_RCX(%rsp)
        mov     %r8,  SLED_FRAME_R8(%rsp)
        mov     %r9,  SLED_FRAME_R9(%rsp)
        mov     %rax, SLED_FRAME_RAX(%rsp)
        mov     %r10, SLED_FRAME_R10(%rsp)
        movups  %xmm0, SLED_FRAME_XMM0+0*16(%rsp)
        movups  %xmm1, SLED_FRAME_XMM0+1*16(%rsp)
        movups  %xmm2, SLED_FRAME_XMM0+2*16(%rsp)
        movups  %xmm3, SLED_FRAME_XMM0+3*16(%rsp)
        movups  %xmm4, SLED_FRAME_XMM0+4*16(%rsp)
        movups  %xmm5, SLED_FRAME_XMM0+5*16(%rsp)
        movups  %xmm6, SLED_FRAME_XMM0+6*16(%rsp)
        movups  %xmm7, SLED_FRAME_XMM0+7*16(%rsp)
        mov     SLED_FRAME_SIZE(%rsp), %rdi     /* body address */
        sub     $13, %rdi
        and     $-8, %rdi                       /* literal address */
        mov     SLED_FRAME_SIZE+8(%rsp), %rsi   /* parent ip */
        mov     %rsp, %rdx                      /* sled_regs */
        call    sled_dispatch
        mov     SLED_FRAME_REDIRECT(%rsp), %r11
        test    %r11, %r11
        jz      1f
        mov     %r11, SLED_FRAME_SIZE(%rsp)     /* IPMODIFY: "return" there */
1:
        movups  SLED_FRAME_XMM0+0*16(%rsp), %xmm0
        movups  SLED_FRAME_XMM0+1*16(%rsp), %xmm1
        movups  SLED_FRAME_XMM0+2*16(%rsp), %xmm2
        movups  SLED_FRAME_XMM0+3*16(%rsp), %xmm3
        movups  SLED_FRAME_XMM0+4*16(%rsp), %xmm4
        movups  SLED_FRAME_XMM0+5*16(%rsp), %xmm5
        movups  SLED_FRAME_XMM0+6*16(%rsp), %xmm6
        movups  SLED_FRAME_XMM0+7*16(%rsp), %xmm7
        mov     SLED_FRAME_RDI(%rsp), %rdi
        mov     SLED_FRAME_RSI(%rsp), %rsi
        mov     SLED_FRAME_RDX(%rsp), %rdx
        mov     SLED_FRAME_RCX(%rsp), %rcx
        mov     SLED_FRAME_R8(%rsp),  %r8
        mov     SLED_FRAME_R9(%rsp),  %r9
        mov     SLED_FRAME_RAX(%rsp), %rax
        mov     SLED_FRAME_R10(%rsp), %r10
        add     $SLED_FRAME_SIZE, %rsp
        .cfi_adjust_cfa_offset -SLED_FRAME_SIZE
        ret
        .cfi_endproc
        .size   sled_callops_trampoline, .-sled_callops_trampoline

        .globl  sled_trampolines_end
        .hidden sled_trampolines_end
sled_trampolines_end:

        .section .note.GNU-stack,"",@progbits
