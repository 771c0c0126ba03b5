/* F2j: F2 reached through a near-stub-shaped indirect jump. */
        .text
        .p2align 4
abl_save_stub:
        sub     $64, %rsp
        mov     %rdi, 0(%rsp)
        mov     %rsi, 8(%rsp)
        mov     %rdx, 16(%rsp)
        mov     %rcx, 24(%rsp)
        mov     %r8, 32(%rsp)
        mov     %r9, 40(%rsp)
        mov     %rax, 48(%rsp)
        mov     %r10, 56(%rsp)
        mov     64(%rsp), %rdi
        mov     72(%rsp), %rsi
        call    abl_empty_handler
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
abl_jump_stub:
        jmp     *0(%rip)
        .quad   abl_save_stub
        .p2align 4
        .globl abl_floor_save_jump
abl_floor_save_jump:
        call    abl_jump_stub
        lea     1(%rdi), %eax
        ret
        .p2align 4
        .globl abl_floor_save_direct
abl_floor_save_direct:
        call    abl_save_stub
        lea     1(%rdi), %eax
        ret
        .section .note.GNU-stack, "", %progbits
