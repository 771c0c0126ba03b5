/* aarch64 trampolines. A site is
 *     [bti c]; mov x9, x30; bl <here, a near stub, or a generated trampoline>
 * so on entry x30 = the function's body (the address after the bl) and x9 =
 * the caller's return address (the function's own LR). The literal is
 * (x30 & ~7) - 16 with or without bti c. Live registers on entry: x0-x7 and
 * q0-q7 (arguments), x8 (indirect result); x9 as above; x16/x17 are the
 * IP0/IP1 scratch registers that veneers may clobber (a generated trampoline
 * passes its descriptor in x16). The trampoline builds two frame records
 * (see frame.h), calls the ops, restores, and returns into the body with
 * x30 = x9 (the caller's LR) through `ret` to the body slot, which an
 * IPMODIFY callback may have redirected: `ret` is not a BTI-checked branch,
 * so the body needs no landing pad. Each entry starts with `bti c`, a
 * landing pad for `br x16`/`br x17` from near stubs and generated
 * trampolines (a NOP without BTI).
 *
 * Fast path (outermost call on a thread that has a record): the reader side
 * of the grace-period protocol inline. The nest store must be ordered
 * before the literal load that follows; arm64 may reorder a load before an
 * earlier store, but a `dmb` here would cost more than the whole call. The
 * writer side uses membarrier(PRIVATE_EXPEDITED) between its literal stores
 * and its nest loads (core/dispatch.cc): the asymmetric-fence scheme of
 * liburcu's memb flavour, valid on arm64 as on x86, promotes the reader's
 * program order (a compiler barrier: this is assembly) to a full barrier
 * wherever it matters. The literal load and the `ops->func` load are
 * ordered by their address dependency. Leaving is a store-release (`stlr`)
 * of nest = 0: every read of the callback is ordered before it, so a writer
 * that sees 0 knows the section's reads are done. Everything else (first
 * call on a thread, nested calls and the recursion guard, TSan builds) goes
 * through the C++ sled_dispatch. The fast path also records its frame (sp,
 * whose SLED_FRAME_THREAD slot names the record) in the record before nest,
 * so a section left by longjmp or an exception can be told from a live one
 * (core/dispatch.cc). The three entry points differ only in how
 * they find the ops, each read after entering the read section:
 *   callops   the site's literal;
 *   list      the list walker ops (walks every registered ops);
 *   dyntramp  the generated trampoline's descriptor (x16), used only when
 *             it still matches the literal (see core/dyntramp.h);
 *   direct    the site's literal, like callops; before leaving the section
 *             it reads the ops' direct trampoline (core/direct.h) into the
 *             frame, and continues into it (br x16, with x30 = the body and
 *             x9 = the function's LR) instead of returning, when there is
 *             one. */
#include "feature_note.h"
#include "frame.h"
#include "core/thread_state.h"
#include "core/direct.h"

#if SLED_THREAD_NEST != 0 || SLED_THREAD_GEN != 4
#error "the fast path's exit stores nest and gen as one 64-bit word at the record"
#endif

#define KIND_CALLOPS 0
#define KIND_LIST 1
#define KIND_DYN 2
#define KIND_DIRECT 3 /* callops, then on into the literal's direct trampoline */

.macro SAVE_QS
        stp     q0, q1, [sp, #SLED_FRAME_Q0+0*32]
        stp     q2, q3, [sp, #SLED_FRAME_Q0+1*32]
        stp     q4, q5, [sp, #SLED_FRAME_Q0+2*32]
        stp     q6, q7, [sp, #SLED_FRAME_Q0+3*32]
.endm
.macro RESTORE_QS
        ldp     q0, q1, [sp, #SLED_FRAME_Q0+0*32]
        ldp     q2, q3, [sp, #SLED_FRAME_Q0+1*32]
        ldp     q4, q5, [sp, #SLED_FRAME_Q0+2*32]
        ldp     q6, q7, [sp, #SLED_FRAME_Q0+3*32]
.endm

/* Leaves the read section (the fast path's exit). direct: still inside
 * the section the ops (a list ops) is alive, so its direct trampoline
 * replaces it in the frame, for RETURN. */
.macro LEAVE_SECTION kind
.if \kind == KIND_DIRECT
        ldr     x11, [sp, #SLED_FRAME_OPS]
        ldr     x11, [x11, #SLED_OPS_DIRECT]
        str     x11, [sp, #SLED_FRAME_OPS]
.endif
        /* Leave with one store-release of the 64-bit word {nest, gen}
         * (nest the low half, little-endian): nest = 0 and gen + 1 at once.
         * A writer's acquire load of either half that sees the new value
         * reads from this release, so every read of the section (the
         * literal, the ops, the callback's) is ordered before it; the
         * entry_sp clear before it too. The halves change together, so a
         * writer never sees gen + 1 with the old nest or the reverse; the
         * fast path ran from nest 0, so 0 is the value to restore (a
         * nested section left by a non-local exit is ended with it). */
        ldr     x10, [sp, #SLED_FRAME_THREAD]
        ldr     w11, [x10, #SLED_THREAD_GEN]
        add     w11, w11, #1
        lsl     x11, x11, #32                   /* {nest = 0, gen + 1} */
        str     xzr, [x10, #SLED_THREAD_ENTRY_SP] /* no recorded frame outside a section */
        stlr    x11, [x10]                      /* leave: a release store */
.endm

/* Restores the registers and returns into the body (direct: continues into
 * the direct trampoline). Each path ends in its own copy, so the ordinary
 * callback's path runs from entry to `ret` with no taken branch and the
 * SAVES_REGS path takes one. */
.macro RETURN kind
        ldp     x0, x1, [sp, #SLED_FRAME_X0+0]
        ldp     x2, x3, [sp, #SLED_FRAME_X0+16]
        ldp     x4, x5, [sp, #SLED_FRAME_X0+32]
        ldp     x6, x7, [sp, #SLED_FRAME_X0+48]
        ldr     x8, [sp, #SLED_FRAME_X0+64]
        ldr     x29, [sp, #SLED_FRAME_FPREC_CALLSITE]
.if \kind == KIND_DIRECT
        /* Continue into the direct trampoline with the registers a direct
         * call of it from the site gives: x30 = the body, x9 = the
         * function's LR. `br x16`: its bti c accepts it. */
        ldr     x16, [sp, #SLED_FRAME_OPS]
        cbz     x16, 1f
        ldr     x9, [sp, #SLED_FRAME_X9]        /* the caller's LR */
        ldr     x30, [sp, #SLED_FRAME_BODY]     /* the body, or the IPMODIFY target */
        .cfi_remember_state
        add     sp, sp, #SLED_FRAME_SIZE
        .cfi_def_cfa_offset 0
        br      x16
        .cfi_restore_state
1:
.endif
        ldr     x30, [sp, #SLED_FRAME_X9]       /* the caller's LR */
        ldr     x9, [sp, #SLED_FRAME_BODY]      /* the body, or the IPMODIFY target */
        add     sp, sp, #SLED_FRAME_SIZE
        ret     x9
.endm

.macro TRAMPOLINE name, kind
        .p2align 4
        .globl  \name
        .hidden \name
        .type   \name, %function
\name:
        .cfi_startproc
        /* Unwinding: the return address into the body is its own column
         * (x16's, a scratch register), so that the body's frame gets
         * x30 = x9, the caller's LR, as it had before the site ran. A
         * signal frame: the body has not started, so unwinders look up its
         * CFI at the body address itself, not the byte before (GCC's FDE
         * of an instrumented function starts after the site). */
        .cfi_signal_frame
        .cfi_return_column x16
        .cfi_register x16, x30
        .cfi_register x30, x9
        hint    #34                             /* bti c */
#ifndef SLED_TSAN
        /* The thread record first: its dependent loads overlap the
         * register saves. x10 and x11 are temporaries at a call. */
        mrs     x10, tpidr_el0
        adrp    x11, :gottprel:sled_thread_record
        ldr     x11, [x11, #:gottprel_lo12:sled_thread_record]
        ldr     x10, [x10, x11]                 /* the thread record */
#endif
        sub     sp, sp, #SLED_FRAME_SIZE
        .cfi_def_cfa_offset SLED_FRAME_SIZE
        stp     x0, x1, [sp, #SLED_FRAME_X0+0]
        stp     x2, x3, [sp, #SLED_FRAME_X0+16]
        stp     x4, x5, [sp, #SLED_FRAME_X0+32]
        stp     x6, x7, [sp, #SLED_FRAME_X0+48]
        stp     x8, x9, [sp, #SLED_FRAME_X0+64]
        stp     x29, x9, [sp, #SLED_FRAME_FPREC_CALLSITE]
        .cfi_offset x29, SLED_FRAME_FPREC_CALLSITE-SLED_FRAME_SIZE
        .cfi_offset x30, SLED_FRAME_FPREC_CALLSITE+8-SLED_FRAME_SIZE
        add     x29, sp, #SLED_FRAME_FPREC_CALLSITE
        stp     x29, x30, [sp, #SLED_FRAME_FPREC_TRAMP]
        .cfi_offset x16, SLED_FRAME_BODY-SLED_FRAME_SIZE
        add     x29, sp, #SLED_FRAME_FPREC_TRAMP
        and     x0, x30, #~7
        sub     x0, x0, #16                     /* literal address */
        mov     x1, x9                          /* parent ip */
#ifndef SLED_TSAN
        cbz     x10, .Lslow\@
        ldr     w11, [x10, #SLED_THREAD_NEST]
        cbnz    w11, .Lslow\@
        mov     w11, #1
        str     w11, [x10, #SLED_THREAD_NEST]   /* enter the read section */
        /* Then record the frame: its thread slot, then entry_sp with
         * release, so a grace period that reads entry_sp (acquire) finds
         * the slot naming the record. A signal landing before entry_sp is
         * set finds nest > 0 and entry_sp 0 (cleared at every exit), which
         * reads as live: never as abandoned. */
        str     x10, [sp, #SLED_FRAME_THREAD]
        mov     x11, sp
        add     x12, x10, #SLED_THREAD_ENTRY_SP
        stlr    x11, [x12]                      /* this frame: longjmp detection */
.if \kind == KIND_CALLOPS || \kind == KIND_DIRECT
        ldr     x2, [x0]                        /* then read the ops */
.elseif \kind == KIND_LIST
        adrp    x2, sled_list_walker_ops
        add     x2, x2, #:lo12:sled_list_walker_ops
.else
        ldr     x2, [x16]                       /* descriptor->ops */
        ldr     x11, [x0]                       /* still what the literal names? */
        cmp     x2, x11
        csel    x2, x2, x11, eq                 /* no: the literal is the authority */
.endif
        add     x0, x0, #8                      /* ip: the function's entry */
        mov     x3, sp                          /* regs */
        str     x2, [sp, #SLED_FRAME_OPS]       /* for sled_regs_set_ip's check */
        ldr     w11, [x2, #SLED_OPS_FLAGS]
        ldr     x12, [x2]                       /* ops->func */
        tst     w11, #SLED_OPS_FL_SAVES_REGS_BIT
        b.ne    .Lsaves\@
        SAVE_QS
        blr     x12                             /* ops->func(ip, parent, ops, regs) */
        RESTORE_QS
        LEAVE_SECTION \kind
        RETURN \kind
.Lsaves\@:
        blr     x12                             /* the callback keeps q0-q7 itself */
        LEAVE_SECTION \kind
        RETURN \kind
#endif
.Lslow\@:
        mov     x2, sp                          /* regs */
.if \kind == KIND_LIST
        mov     w3, #1                          /* walk every ops */
.elseif \kind == KIND_DIRECT
        mov     w3, #2                          /* the literal's ops, then its direct one */
.else
        mov     w3, #0                          /* the literal's ops */
.endif
        SAVE_QS
        bl      sled_dispatch
        RESTORE_QS
        RETURN \kind
        .cfi_endproc
        .size   \name, .-\name
.endm

        .text
        .globl  sled_trampolines_begin
        .hidden sled_trampolines_begin
sled_trampolines_begin:
        TRAMPOLINE sled_callops_trampoline, KIND_CALLOPS
        TRAMPOLINE sled_list_trampoline, KIND_LIST
        TRAMPOLINE sled_dyntramp_body, KIND_DYN
        TRAMPOLINE sled_direct_list_trampoline, KIND_DIRECT
        .globl  sled_trampolines_end
        .hidden sled_trampolines_end
sled_trampolines_end:

        .section .note.GNU-stack,"",%progbits

/* Mark the object BTI (and PAC) compatible when the build asks for it, so
 * that a module linked from it keeps BTI enforcement: every indirect
 * branch target above starts with bti c. */
SLED_FEATURE_NOTE
