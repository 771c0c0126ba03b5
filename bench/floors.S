/* floors.S — the hand-written floors sled's traced call is measured
 * against, in the same process (sled-bench-call rows F1-F3, and the "x F2"
 * of sled-bench-dispatch). Each floor function has tiny.c's body (x + 1)
 * behind a call at its entry, where a patch site would be, into a stub:
 *
 *   floor_call_ret(x)    the stub only returns: what any call out of the
 *                        entry costs
 *   floor_save_call(x)   the stub is shaped like ftrace_caller: saves the
 *                        argument/scratch GPRs sled's trampolines save,
 *                        calls an empty C handler with the function's and
 *                        the caller's addresses, restores, returns: the
 *                        floor of any tracer with a C callback that may
 *                        read the arguments. It is also the floor matching
 *                        a SLED_SAVES_REGS callback: such a callback keeps
 *                        every other register itself, so the trampoline
 *                        saves exactly this set (an empty preserve_all
 *                        handler compiles to the same lone `ret`).
 *   floor_save_fp_call(x) as floor_save_call, also saving and restoring the
 *                        8 FP/SIMD argument registers (xmm0-7 / q0-q7): the
 *                        floor matching an ordinary C callback, which may
 *                        clobber them.
 *
 * The handler, floor_empty_handler(ip, parent), is C (floor_handler.c).
 * x86_64: the site is a 5-byte `call`, the stub returns with `ret`.
 * aarch64: the site is sled's `mov x9, x30; bl stub`, so the stub finds the
 * body in x30 and the caller's LR in x9 and returns into the body with
 * x30 = x9 again, as sled's trampolines do (`ret` through a scratch
 * register: predicted by the return stack the `bl` pushed).
 * Built without patch sites; nothing in sled calls them. */
#if defined(__x86_64__)
        .text
        .p2align 4
floor_ret_stub:
        ret

.macro FLOOR_SAVE_STUB name, fp
        .p2align 4
\name:
.if \fp
        sub     $192, %rsp              /* rsp was 16-aligned: it stays so */
.else
        sub     $64, %rsp
.endif
        mov     %rdi, 0(%rsp)
        mov     %rsi, 8(%rsp)
        mov     %rdx, 16(%rsp)
        mov     %rcx, 24(%rsp)
        mov     %r8, 32(%rsp)
        mov     %r9, 40(%rsp)
        mov     %rax, 48(%rsp)
        mov     %r10, 56(%rsp)
.if \fp
        movups  %xmm0, 64(%rsp)
        movups  %xmm1, 80(%rsp)
        movups  %xmm2, 96(%rsp)
        movups  %xmm3, 112(%rsp)
        movups  %xmm4, 128(%rsp)
        movups  %xmm5, 144(%rsp)
        movups  %xmm6, 160(%rsp)
        movups  %xmm7, 176(%rsp)
        mov     192(%rsp), %rdi         /* return address into the body */
        mov     200(%rsp), %rsi         /* the caller's return address */
.else
        mov     64(%rsp), %rdi
        mov     72(%rsp), %rsi
.endif
        call    floor_empty_handler
.if \fp
        movups  64(%rsp), %xmm0
        movups  80(%rsp), %xmm1
        movups  96(%rsp), %xmm2
        movups  112(%rsp), %xmm3
        movups  128(%rsp), %xmm4
        movups  144(%rsp), %xmm5
        movups  160(%rsp), %xmm6
        movups  176(%rsp), %xmm7
.endif
        mov     0(%rsp), %rdi
        mov     8(%rsp), %rsi
        mov     16(%rsp), %rdx
        mov     24(%rsp), %rcx
        mov     32(%rsp), %r8
        mov     40(%rsp), %r9
        mov     48(%rsp), %rax
        mov     56(%rsp), %r10
.if \fp
        add     $192, %rsp
.else
        add     $64, %rsp
.endif
        ret
.endm
        FLOOR_SAVE_STUB floor_save_stub, 0
        FLOOR_SAVE_STUB floor_save_fp_stub, 1

.macro FLOOR_FUNCTION name, stub
        .p2align 4
        .globl  \name
        .type   \name, @function
\name:
        call    \stub
        lea     1(%rdi), %eax
        ret
        .size   \name, . - \name
.endm
        FLOOR_FUNCTION floor_call_ret, floor_ret_stub
        FLOOR_FUNCTION floor_save_call, floor_save_stub
        FLOOR_FUNCTION floor_save_fp_call, floor_save_fp_stub

#elif defined(__aarch64__)
        .text
        .p2align 4
floor_ret_stub:
        mov     x16, x30                /* the body */
        mov     x30, x9                 /* the caller's LR, as before the site */
        ret     x16

/* sled's frame keeps x0-x8 and x9, plus a frame record (x29, x30). */
.macro FLOOR_SAVE_STUB name, fp
        .p2align 4
\name:
.if \fp
        sub     sp, sp, #224
.else
        sub     sp, sp, #96
.endif
        stp     x0, x1, [sp, #0]
        stp     x2, x3, [sp, #16]
        stp     x4, x5, [sp, #32]
        stp     x6, x7, [sp, #48]
        stp     x8, x9, [sp, #64]
        stp     x29, x30, [sp, #80]
        add     x29, sp, #80
.if \fp
        stp     q0, q1, [sp, #96]
        stp     q2, q3, [sp, #128]
        stp     q4, q5, [sp, #160]
        stp     q6, q7, [sp, #192]
.endif
        mov     x0, x30                 /* the body */
        mov     x1, x9                  /* the caller's return address */
        bl      floor_empty_handler
.if \fp
        ldp     q0, q1, [sp, #96]
        ldp     q2, q3, [sp, #128]
        ldp     q4, q5, [sp, #160]
        ldp     q6, q7, [sp, #192]
.endif
        ldp     x0, x1, [sp, #0]
        ldp     x2, x3, [sp, #16]
        ldp     x4, x5, [sp, #32]
        ldp     x6, x7, [sp, #48]
        ldp     x8, x9, [sp, #64]
        ldp     x29, x16, [sp, #80]     /* x16: the body */
        mov     x30, x9
.if \fp
        add     sp, sp, #224
.else
        add     sp, sp, #96
.endif
        ret     x16
.endm
        FLOOR_SAVE_STUB floor_save_stub, 0
        FLOOR_SAVE_STUB floor_save_fp_stub, 1

.macro FLOOR_FUNCTION name, stub
        .p2align 4
        .globl  \name
        .type   \name, %function
\name:
        mov     x9, x30
        bl      \stub
        add     w0, w0, #1
        ret
        .size   \name, . - \name
.endm
        FLOOR_FUNCTION floor_call_ret, floor_ret_stub
        FLOOR_FUNCTION floor_save_call, floor_save_stub
        FLOOR_FUNCTION floor_save_fp_call, floor_save_fp_stub
#endif
        .section .note.GNU-stack, "", %progbits
