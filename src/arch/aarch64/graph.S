/* aarch64 return handler and unwind landing pad of graph ops (core/graph.cc
 * decides; this only moves registers). The x86_64 file explains the scheme;
 * here the return address travels in x30.
 *
 * The entry path rewrites the traced function's LR in the trampoline frame
 * (x9's slot), before the body's paciasp: the body signs and authenticates
 * the handler's address like any return address, so PAC needs nothing.
 * `ret` is not BTI-checked, so neither the handler nor the real caller
 * needs a landing pad; the landing pad starts with bti jc in case an
 * unwinder installs it with `br`.
 *
 * sled_graph_return_handler: entered by the hooked function's `ret`, sp
 * where the real return would leave it (the key), return values in x0-x7
 * (x8: indirect result pointer, preserved by callees) and q0-q3. */
#include "feature_note.h"
#include "frame.h"

#define LANDING_FRAME (SLED_FRAME_SIZE + 16) /* + pad + return-address slot */

.macro SAVE_RET_REGS
        stp     x0, x1, [sp, #SLED_FRAME_X0+0]
        stp     x2, x3, [sp, #SLED_FRAME_X0+16]
        stp     x4, x5, [sp, #SLED_FRAME_X0+32]
        stp     x6, x7, [sp, #SLED_FRAME_X0+48]
        stp     q0, q1, [sp, #SLED_FRAME_Q0+0*32]
        stp     q2, q3, [sp, #SLED_FRAME_Q0+1*32]
.endm
.macro RESTORE_RET_REGS
        ldp     x0, x1, [sp, #SLED_FRAME_X0+0]
        ldp     x2, x3, [sp, #SLED_FRAME_X0+16]
        ldp     x4, x5, [sp, #SLED_FRAME_X0+32]
        ldp     x6, x7, [sp, #SLED_FRAME_X0+48]
        ldp     q0, q1, [sp, #SLED_FRAME_Q0+0*32]
        ldp     q2, q3, [sp, #SLED_FRAME_Q0+1*32]
.endm

        .text
        .p2align 4
        .cfi_startproc
        .cfi_personality 0x1b, sled_graph_personality
        .cfi_def_cfa sp, 0
        .cfi_undefined x30
        nop                                     /* the word unwinders look up */
        .globl  sled_graph_return_handler
        .hidden sled_graph_return_handler
        .type   sled_graph_return_handler, %function
sled_graph_return_handler:
        sub     sp, sp, #SLED_FRAME_SIZE
        .cfi_adjust_cfa_offset SLED_FRAME_SIZE
        SAVE_RET_REGS
        stp     x29, x8, [sp, #SLED_FRAME_FPREC_CALLSITE]
        mov     x0, sp                          /* frame */
        add     x1, sp, #SLED_FRAME_SIZE        /* key */
        mov     w2, #0                          /* returned, not unwound */
        bl      sled_graph_leave
        mov     x30, x0                         /* the real return address */
        ldp     x29, x8, [sp, #SLED_FRAME_FPREC_CALLSITE]
        RESTORE_RET_REGS
        add     sp, sp, #SLED_FRAME_SIZE
        .cfi_adjust_cfa_offset -SLED_FRAME_SIZE
        ret
        .cfi_endproc
        .size   sled_graph_return_handler, .-sled_graph_return_handler

        .p2align 4
        .globl  sled_graph_landing_pad
        .hidden sled_graph_landing_pad
        .type   sled_graph_landing_pad, %function
sled_graph_landing_pad:
        .cfi_startproc
        .cfi_def_cfa sp, 0
        .cfi_undefined x30
        hint    #38                             /* bti jc */
        sub     sp, sp, #LANDING_FRAME
        .cfi_adjust_cfa_offset LANDING_FRAME
        str     x0, [sp, #SLED_FRAME_SIZE]      /* the exception, in the pad word */
        mov     x0, sp
        add     x1, sp, #LANDING_FRAME          /* key */
        mov     w2, #1                          /* unwound */
        bl      sled_graph_leave
        str     x0, [sp, #LANDING_FRAME-8]      /* the real return address */
        .cfi_offset x30, -8
        ldr     x0, [sp, #SLED_FRAME_SIZE]
        add     sp, sp, #SLED_FRAME_SIZE
        .cfi_adjust_cfa_offset -SLED_FRAME_SIZE
        bl      _Unwind_Resume_or_Rethrow       /* returns only if uncaught */
        ldr     x0, [sp]
        bl      sled_graph_uncaught
        brk     #0
        .cfi_endproc
        .size   sled_graph_landing_pad, .-sled_graph_landing_pad

        .section .note.GNU-stack,"",%progbits
SLED_FEATURE_NOTE
