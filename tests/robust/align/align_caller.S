/* align_caller.S — calls a function with %rsp = 8 mod 16 at the call, the
 * way GCC calls a static function whose callers it all knows and that
 * needs no stack alignment itself: the deterministic form of that case.
 *   long al_call_misaligned(long (*fn)(long), long arg)  -> fn(arg)
 * Full CFI, so that unwinders (backtrace(), C++ exceptions) pass through it.
 * al_call_misaligned_end marks its end: tests look for a return address
 * inside it in a backtrace. */
#if defined(__x86_64__)
        .text
        .p2align 4
        .globl  al_call_misaligned
        .type   al_call_misaligned, @function
al_call_misaligned:
        .cfi_startproc
        push    %rbp
        .cfi_def_cfa_offset 16
        .cfi_offset %rbp, -16
        mov     %rsp, %rbp
        .cfi_def_cfa_register %rbp
        and     $-16, %rsp
        sub     $8, %rsp                /* the call pushes to 0 mod 16: off by 8 */
        mov     %rdi, %rax
        mov     %rsi, %rdi
        call    *%rax
        leave
        .cfi_def_cfa %rsp, 8
        ret
        .cfi_endproc
        .size   al_call_misaligned, .-al_call_misaligned
        .globl  al_call_misaligned_end
al_call_misaligned_end:
#endif
        .section .note.GNU-stack, "", %progbits
