/* x86_64 trampolines. A site's `call` lands here (directly, through a near
 * stub's jump, or through a generated trampoline that loaded %r11) with the
 * return address into the traced function's body at 0(%rsp) (the "body
 * slot") and the caller's return address at 8(%rsp). The literal is
 * (body - 13) & ~7 with or without endbr64. Live registers on entry: every
 * argument register (rdi rsi rdx rcx r8 r9, xmm0-7), rax (varargs), r10
 * (static chain); r11 is scratch. No pushfq: the ABI does not need flags
 * preserved across a call. The final `ret` goes through the body slot,
 * which an IPMODIFY callback may have redirected. Every call out to C/C++
 * is made with %rsp 16-byte aligned, also when the traced function was
 * itself called with the stack 8 bytes off (ALIGNED_CALL).
 *
 * Fast path (outermost call on a thread that has a record): the reader side
 * of the grace-period protocol inline (core/dispatch.cc explains why plain
 * stores suffice: x86 only lets a store pass a later load, and the writer's
 * membarrier covers that), then a direct call of ops->func. xmm0-7 are saved
 * unless the ops says its callback preserves every register itself
 * (SLED_OPS_FL_SAVES_REGS). Everything else (first call on a thread,
 * nested calls and the recursion guard, TSan builds) goes through the C++
 * sled_dispatch. The fast path also records its frame (%rsp, whose
 * SLED_FRAME_THREAD slot names the record) in the record before nest, so a
 * section left by longjmp or an exception can be told from a live one
 * (core/dispatch.cc). The three entry points differ only in how they find the
 * ops, each read after entering the read section:
 *   callops   the site's literal;
 *   list      the list walker ops (walks every registered ops);
 *   dyntramp  the generated trampoline's descriptor (%r11), used only when
 *             it still matches the literal (see core/dyntramp.h);
 *   direct    the site's literal, like callops; before leaving the section
 *             it reads the ops' direct trampoline (core/direct.h) into the
 *             frame, and continues into it (jmp, the body slot on top of
 *             the stack) instead of returning, when there is one. */
#include "frame.h"
#include "core/thread_state.h"
#include "core/direct.h"

#define KIND_CALLOPS 0
#define KIND_LIST 1
#define KIND_DYN 2
#define KIND_DIRECT 3 /* callops, then on into the literal's direct trampoline */

.macro SAVE_GPRS
        mov     %rdi, SLED_FRAME_RDI+0(%rsp)
        mov     %rsi, SLED_FRAME_RDI+8(%rsp)
        mov     %rdx, SLED_FRAME_RDI+16(%rsp)
        mov     %rcx, SLED_FRAME_RDI+24(%rsp)
        mov     %r8,  SLED_FRAME_RDI+32(%rsp)
        mov     %r9,  SLED_FRAME_RDI+40(%rsp)
        mov     %rax, SLED_FRAME_RDI+48(%rsp)
        mov     %r10, SLED_FRAME_RDI+56(%rsp)
.endm
.macro RESTORE_GPRS
        mov     SLED_FRAME_RDI+0(%rsp), %rdi
        mov     SLED_FRAME_RDI+8(%rsp), %rsi
        mov     SLED_FRAME_RDI+16(%rsp), %rdx
        mov     SLED_FRAME_RDI+24(%rsp), %rcx
        mov     SLED_FRAME_RDI+32(%rsp), %r8
        mov     SLED_FRAME_RDI+40(%rsp), %r9
        mov     SLED_FRAME_RDI+48(%rsp), %rax
        mov     SLED_FRAME_RDI+56(%rsp), %r10
.endm
/* The frame may sit at any 8-byte alignment if a caller broke the ABI's
 * stack alignment, hence movups. */
.macro SAVE_XMMS
        movups  %xmm0, SLED_FRAME_XMM0+0*16(%rsp)
        movups  %xmm1, SLED_FRAME_XMM0+1*16(%rsp)
        movups  %xmm2, SLED_FRAME_XMM0+2*16(%rsp)
        movups  %xmm3, SLED_FRAME_XMM0+3*16(%rsp)
        movups  %xmm4, SLED_FRAME_XMM0+4*16(%rsp)
        movups  %xmm5, SLED_FRAME_XMM0+5*16(%rsp)
        movups  %xmm6, SLED_FRAME_XMM0+6*16(%rsp)
        movups  %xmm7, SLED_FRAME_XMM0+7*16(%rsp)
.endm
.macro RESTORE_XMMS
        movups  SLED_FRAME_XMM0+0*16(%rsp), %xmm0
        movups  SLED_FRAME_XMM0+1*16(%rsp), %xmm1
        movups  SLED_FRAME_XMM0+2*16(%rsp), %xmm2
        movups  SLED_FRAME_XMM0+3*16(%rsp), %xmm3
        movups  SLED_FRAME_XMM0+4*16(%rsp), %xmm4
        movups  SLED_FRAME_XMM0+5*16(%rsp), %xmm5
        movups  SLED_FRAME_XMM0+6*16(%rsp), %xmm6
        movups  SLED_FRAME_XMM0+7*16(%rsp), %xmm7
.endm

/* A call out to C/C++ with %rsp 16-byte aligned, as the ABI requires, even
 * when the traced function's caller broke that alignment: GCC calls a
 * static function whose callers it all knows with %rsp = 8 mod 16 when
 * that function needs no alignment itself. The frame stays where it is
 * (its offsets are sled_regs', the body slot just above it), so it is then
 * 8 mod 16 too, and the call goes out of line (ALIGNED_CALL_OUT, after the
 * function's last instruction) with one word of padding below the frame.
 * The common, aligned case pays a fused test-and-branch, never taken. A
 * stack not even 8-byte aligned is not handled (no compiler makes one). */
.macro ALIGNED_CALL target, id
        test    $8, %spl
        jnz     .Lmisaligned_\id
        call    \target
.Laligned_\id:
.endm
/* Placed where the CFA is %rsp + SLED_FRAME_SIZE + 8 (see TRAMPOLINE). */
.macro ALIGNED_CALL_OUT target, id
.Lmisaligned_\id:
        sub     $8, %rsp
        .cfi_adjust_cfa_offset 8
        call    \target
        add     $8, %rsp
        .cfi_adjust_cfa_offset -8
        jmp     .Laligned_\id
.endm

/* %r11 = the calling thread's record (sled_thread_record, initial-exec
 * TLS), or null before its first traced call. */
.macro THREAD_RECORD
        mov     sled_thread_record@gottpoff(%rip), %r11
        mov     %fs:(%r11), %r11
.endm

/* Leaves the read section (the fast path's exit): gen + 1 first, then
 * the frame record cleared, then nest = 0 as the release (x86 keeps stores
 * in order). direct: still inside the section the ops (a list ops) is
 * alive, so its direct trampoline replaces it in the frame, for RETURN. */
.macro LEAVE_SECTION kind
.if \kind == KIND_DIRECT
        mov     SLED_FRAME_OPS(%rsp), %rdx
        mov     SLED_OPS_DIRECT(%rdx), %rdx
        mov     %rdx, SLED_FRAME_OPS(%rsp)
.endif
        mov     SLED_FRAME_THREAD(%rsp), %r11
        incl    SLED_THREAD_GEN(%r11)
        movq    $0, SLED_THREAD_ENTRY_SP(%r11)  /* no recorded frame outside a section */
        movl    $0, SLED_THREAD_NEST(%r11)      /* leave: a release store on x86 */
.endm

/* Restores the registers and returns into the body through the body slot
 * (direct: continues into the direct trampoline with the stack a direct
 * call of it from the site has, the body slot on top). Each path ends in
 * its own copy, so neither jumps to a shared tail. The CFA offsets are set,
 * not adjusted: the code after the `ret` is inside the frame again (and
 * the assemblers' remember/restore_state do not restore the offset they
 * track for .cfi_adjust_cfa_offset). */
.macro RETURN kind
        RESTORE_GPRS
.if \kind == KIND_DIRECT
        mov     SLED_FRAME_OPS(%rsp), %r11
        add     $SLED_FRAME_SIZE, %rsp
        .cfi_def_cfa_offset 8
        test    %r11, %r11
        jz      1f
        jmp     *%r11
1:      ret
.else
        add     $SLED_FRAME_SIZE, %rsp
        .cfi_def_cfa_offset 8
        ret
.endif
        .cfi_def_cfa_offset SLED_FRAME_SIZE + 8
.endm

/* Layout: the ordinary callback's path runs straight through from entry to
 * `ret` with no taken branch; the SAVES_REGS path takes one (to its own
 * copy of the exit); the slow path follows; the misaligned calls last. */
.macro TRAMPOLINE name, kind
        .p2align 4
        .globl  \name
        .hidden \name
        .type   \name, @function
\name:
        .cfi_startproc
#ifndef SLED_TSAN
.if \kind != KIND_DYN
        /* The thread record first: its two dependent loads (the TLS offset
         * from the GOT, then %fs-relative) overlap the register saves
         * instead of delaying the stores that need it. r11 is scratch
         * (dyntramp: it holds the descriptor until moved below). */
        THREAD_RECORD
.endif
#endif
        sub     $SLED_FRAME_SIZE, %rsp
        .cfi_adjust_cfa_offset SLED_FRAME_SIZE
        SAVE_GPRS
.if \kind == KIND_DYN
        mov     %r11, %r10                      /* descriptor; r10 is saved */
.endif
        mov     SLED_FRAME_SIZE(%rsp), %rdi     /* body address */
        sub     $13, %rdi
        and     $-8, %rdi                       /* literal address */
        mov     SLED_FRAME_SIZE+8(%rsp), %rsi   /* parent ip */
#ifndef SLED_TSAN
.if \kind == KIND_DYN
        THREAD_RECORD
.endif
        test    %r11, %r11
        jz      .Lslow\@
        cmpl    $0, SLED_THREAD_NEST(%r11)
        jne     .Lslow\@
        movl    $1, SLED_THREAD_NEST(%r11)      /* enter the read section */
        /* Then record the frame, its thread slot before entry_sp (x86
         * keeps stores in order): a grace period that reads entry_sp finds
         * the slot naming the record. A signal landing before entry_sp is
         * set finds nest > 0 and entry_sp 0 (cleared at every exit), which
         * reads as live: never as abandoned. */
        mov     %r11, SLED_FRAME_THREAD(%rsp)
        mov     %rsp, SLED_THREAD_ENTRY_SP(%r11) /* this frame: longjmp detection */
.if \kind == KIND_CALLOPS || \kind == KIND_DIRECT
        mov     (%rdi), %rdx                    /* then read the ops */
.elseif \kind == KIND_LIST
        lea     sled_list_walker_ops(%rip), %rdx
.else
        mov     (%r10), %rdx                    /* descriptor->ops */
        cmp     %rdx, (%rdi)                    /* still what the literal names? */
        je      .Lhave_ops\@
        mov     (%rdi), %rdx                    /* no: the literal is the authority */
.Lhave_ops\@:
.endif
        add     $8, %rdi                        /* ip: the function's entry */
        mov     %rsp, %rcx                      /* regs */
        mov     %rdx, SLED_FRAME_OPS(%rsp)      /* for sled_regs_set_ip's check */
        testl   $SLED_OPS_FL_SAVES_REGS_BIT, SLED_OPS_FLAGS(%rdx)
        jnz     .Lsaves\@
        SAVE_XMMS
        ALIGNED_CALL *(%rdx), fast\@           /* ops->func(ip, parent, ops, regs) */
        RESTORE_XMMS
        LEAVE_SECTION \kind
        RETURN \kind
.Lsaves\@:
        ALIGNED_CALL *(%rdx), saves\@          /* the callback keeps xmm0-7 itself */
        LEAVE_SECTION \kind
        RETURN \kind
#endif
.Lslow\@:
        mov     %rsp, %rdx                      /* regs */
.if \kind == KIND_LIST
        mov     $1, %ecx                        /* walk every ops */
.elseif \kind == KIND_DIRECT
        mov     $2, %ecx                        /* the literal's ops, then its direct one */
.else
        xor     %ecx, %ecx                      /* the literal's ops */
.endif
        SAVE_XMMS
        ALIGNED_CALL sled_dispatch, slow\@
        RESTORE_XMMS
        RETURN \kind
        /* The misaligned calls, out of line, inside the frame. */
#ifndef SLED_TSAN
        ALIGNED_CALL_OUT *(%rdx), saves\@
        ALIGNED_CALL_OUT *(%rdx), fast\@
#endif
        ALIGNED_CALL_OUT sled_dispatch, slow\@
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

        .section .note.GNU-stack,"",@progbits
