/* direct_tramp_x86_64.S — an example direct trampoline (sled_ops_set_direct,
 * include/sled/sled.h) for x86_64: counts the calls of the functions its ops
 * traces alone and returns into their bodies. Position-independent and
 * self-contained, so it can be copied to a page of its own (direct_tramp.c
 * does, then fills in the counter's address in the slot at its end):
 *
 *   entry:  0(%rsp) = the function's body, 8(%rsp) = its return address;
 *           every argument register is live, r11 and the flags are scratch
 *   count:  lock incq on the counter the slot names (none if the slot is 0)
 *   exit:   ret: into the body, the stack as it was at the site's call
 *
 * Everything a thread runs lies in [sled_example_direct_tramp,
 * sled_example_direct_tramp_end), which is what sled's grace period needs
 * (it never calls out). */
#if defined(__x86_64__)
        .text
        .p2align 4
        .globl  sled_example_direct_tramp
        .type   sled_example_direct_tramp, @function
sled_example_direct_tramp:
        .cfi_startproc
        mov     .Lcounter_slot(%rip), %r11      /* the counter: data in the code range */
        test    %r11, %r11
        jz      1f
        lock incq (%r11)                        /* exact across threads */
1:      ret
        .cfi_endproc
        .p2align 3
.Lcounter_slot:
        .quad   0
        .globl  sled_example_direct_tramp_end
sled_example_direct_tramp_end:
        .size   sled_example_direct_tramp, . - sled_example_direct_tramp

        /* Where the slot lies, from the start (direct_tramp.c writes it). */
        .section .rodata
        .p2align 3
        .globl  sled_example_direct_slot_offset
sled_example_direct_slot_offset:
        .quad   .Lcounter_slot - sled_example_direct_tramp

        /* The smallest direct trampoline: returns into the body at once
         * (sled-bench-call's row D measures a site calling it). */
        .text
        .p2align 4
        .globl  sled_example_direct_ret
        .type   sled_example_direct_ret, @function
sled_example_direct_ret:
        ret
        .size   sled_example_direct_ret, . - sled_example_direct_ret
#endif
        .section .note.GNU-stack, "", %progbits
