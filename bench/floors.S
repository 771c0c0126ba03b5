/* floors.S — the hand-written floors sled-bench-call measures next to sled's
 * traced call (x86_64 only). Each function has tiny.c's body (x + 1) with a
 * 5-byte call at its entry, where a patch site would be:
 *
 *   floor_call_ret(x)    calls a stub that only returns: what any call out
 *                        of the entry costs
 *   floor_save_call(x)   calls a stub shaped like ftrace_caller: saves the 8
 *                        argument/scratch GPRs sled saves (rdi rsi rdx rcx
 *                        r8 r9 rax r10), calls an empty C handler with the
 *                        function's and the caller's addresses, restores,
 *                        returns: the floor of any tracer with a C callback
 *
 * Built without patch sites; nothing in sled calls them. */
#if defined(__x86_64__)
        .text
        .p2align 4
floor_ret_stub:
        ret

        .p2align 4
floor_save_stub:
        sub     $64, %rsp               /* rsp was 16-aligned: it stays so */
        mov     %rdi, 0(%rsp)
        mov     %rsi, 8(%rsp)
        mov     %rdx, 16(%rsp)
        mov     %rcx, 24(%rsp)
        mov     %r8, 32(%rsp)
        mov     %r9, 40(%rsp)
        mov     %rax, 48(%rsp)
        mov     %r10, 56(%rsp)
        mov     64(%rsp), %rdi          /* return address into the body */
        mov     72(%rsp), %rsi          /* the caller's return address */
        call    floor_empty_handler
        mov     0(%rsp), %rdi
        mov     8(%rsp), %rsi
        mov     16(%rsp), %rdx
        mov     24(%rsp), %rcx
        mov     32(%rsp), %r8
        mov     40(%rsp), %r9
        mov     48(%rsp), %rax
        mov     56(%rsp), %r10
        add     $64, %rsp
        ret

        .p2align 4
        .globl  floor_call_ret
        .type   floor_call_ret, @function
floor_call_ret:
        call    floor_ret_stub
        lea     1(%rdi), %eax
        ret
        .size   floor_call_ret, . - floor_call_ret

        .p2align 4
        .globl  floor_save_call
        .type   floor_save_call, @function
floor_save_call:
        call    floor_save_stub
        lea     1(%rdi), %eax
        ret
        .size   floor_save_call, . - floor_save_call
#endif
        .section .note.GNU-stack, "", %progbits
