/* x86_64 return handler and unwind landing pad of graph ops (core/graph.cc
 * decides; this only moves registers).
 *
 * sled_graph_return_handler: a hooked function's `ret` lands here, with the
 * return values live in rax, rdx, xmm0 and xmm1 and %rsp where the real
 * return would have left it (the key of its shadow frame). They are saved
 * in a trampoline-shaped frame (so the read-section code is the
 * trampolines'), sled_graph_leave runs the return callbacks and returns the
 * real return address, and we jump there. x87 st0 (long double returns) is
 * not saved: return callbacks must not use long double.
 *
 * Unwinding: an unwinder reaching the handler as a frame's return address
 * looks up the FDE of the byte before it (the nop). That FDE names
 * sled_graph_personality (graph.cc), which claims the exception in the
 * search phase and installs sled_graph_landing_pad in the cleanup phase,
 * for C++ exceptions and forced unwinds (pthread_exit, pthread_cancel)
 * alike. The handler's own CFI says the return address is unknown: code
 * that walks without running personalities (_Unwind_Backtrace) stops there
 * unless graph_backtrace.cc put the real addresses back first.
 *
 * sled_graph_landing_pad: entered with %rsp as above and the exception in
 * rax. It reserves a return-address slot, has sled_graph_leave pop the
 * frame (unwound) and fill the slot with the real return address, and
 * continues the unwinding from a frame whose CFI names that slot, so the
 * unwinder carries on into the real caller with every callee-saved
 * register as the caller had it. */
#include "frame.h"

#define LANDING_FRAME (SLED_FRAME_SIZE + 16) /* + the exception's word + pad */

        .text
        .p2align 4
        .cfi_startproc
        .cfi_personality 0x1b, sled_graph_personality
        .cfi_def_cfa %rsp, 0
        .cfi_undefined %rip
        nop                                     /* the byte unwinders look up */
        .globl  sled_graph_return_handler
        .hidden sled_graph_return_handler
        .type   sled_graph_return_handler, @function
sled_graph_return_handler:
        /* %rsp is where the caller had it at its call, which is not always
         * 16-byte aligned: GCC calls a leaf function of the same unit that
         * needs no alignment with %rsp = 8 mod 16 (its stack-alignment
         * propagation). The C++ below needs the ABI's alignment: align,
         * and keep the entry %rsp (the key) in %rbp, callee-saved. */
        push    %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_offset %rbp, -8
        mov     %rsp, %rbp
        .cfi_def_cfa_register %rbp
        and     $-16, %rsp
        sub     $SLED_FRAME_SIZE, %rsp
        mov     %rax, SLED_FRAME_RDI+48(%rsp)
        mov     %rdx, SLED_FRAME_RDI+16(%rsp)
        movups  %xmm0, SLED_FRAME_XMM0+0*16(%rsp)
        movups  %xmm1, SLED_FRAME_XMM0+1*16(%rsp)
        mov     %rsp, %rdi                      /* frame */
        lea     8(%rbp), %rsi                   /* key: %rsp at entry */
        xor     %edx, %edx                      /* returned, not unwound */
        call    sled_graph_leave
        mov     %rax, %r11                      /* the real return address */
        mov     SLED_FRAME_RDI+48(%rsp), %rax
        mov     SLED_FRAME_RDI+16(%rsp), %rdx
        movups  SLED_FRAME_XMM0+0*16(%rsp), %xmm0
        movups  SLED_FRAME_XMM0+1*16(%rsp), %xmm1
        mov     %rbp, %rsp
        pop     %rbp
        .cfi_def_cfa %rsp, 0
        .cfi_same_value %rbp
        jmp     *%r11
        .cfi_endproc
        .size   sled_graph_return_handler, .-sled_graph_return_handler

        .p2align 4
        .globl  sled_graph_landing_pad
        .hidden sled_graph_landing_pad
        .type   sled_graph_landing_pad, @function
sled_graph_landing_pad:
        .cfi_startproc
        .cfi_def_cfa %rsp, 0
        .cfi_undefined %rip
        /* The key may be 8 mod 16 like the handler's: the return-address
         * slot and the saved %rbp sit just below it, %rbp keeps their place
         * (CFA = %rbp + 16), and the frame and the calls below are aligned. */
        sub     $8, %rsp                        /* the return-address slot */
        .cfi_adjust_cfa_offset 8
        push    %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_offset %rbp, -16
        mov     %rsp, %rbp
        .cfi_def_cfa_register %rbp
        and     $-16, %rsp
        sub     $LANDING_FRAME, %rsp
        mov     %rax, SLED_FRAME_RDI+48(%rsp)   /* the exception */
        mov     %rsp, %rdi
        lea     16(%rbp), %rsi                  /* key */
        mov     $1, %edx                        /* unwound */
        call    sled_graph_leave
        mov     %rax, 8(%rbp)                   /* the real return address */
        .cfi_offset %rip, -8
        mov     SLED_FRAME_RDI+48(%rsp), %rdi
        mov     %rdi, SLED_FRAME_SIZE(%rsp)     /* kept in the pad word */
        call    _Unwind_Resume_or_Rethrow@PLT   /* returns only if uncaught */
        mov     SLED_FRAME_SIZE(%rsp), %rdi
        call    sled_graph_uncaught
        ud2
        .cfi_endproc
        .size   sled_graph_landing_pad, .-sled_graph_landing_pad

        .section .note.GNU-stack,"",@progbits
