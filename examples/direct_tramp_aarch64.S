/* direct_tramp_aarch64.S — an example direct trampoline (sled_ops_set_direct,
 * include/sled/sled.h) for aarch64: counts the calls of the functions its
 * ops traces alone and returns into their bodies. Position-independent and
 * self-contained, so it can be copied to a page of its own (direct_tramp.c
 * does, then fills in the counter's address in the slot at its end):
 *
 *   entry:  x30 = the function's body, x9 = its own return address (LR);
 *           x0-x8 and q0-q7 are live; x10-x17 are scratch. Reached by `bl`
 *           from the site or `br x16` from sled: `bti c` first.
 *   count:  an exclusive load/store loop on the counter the slot names
 *           (none if the slot is 0): exact across threads
 *   exit:   x30 = x9 again and `ret` to the body (ret is not BTI-checked;
 *           the body has no landing pad)
 *
 * Everything a thread runs lies in [sled_example_direct_tramp,
 * sled_example_direct_tramp_end), which is what sled's grace period needs
 * (it never calls out). */
#if defined(__aarch64__)
        .text
        .p2align 4
        .globl  sled_example_direct_tramp
        .type   sled_example_direct_tramp, %function
sled_example_direct_tramp:
        .cfi_startproc
        hint    #34                             /* bti c */
        ldr     x16, .Lcounter_slot             /* the counter: data in the code range */
        cbz     x16, 2f
1:      ldxr    x17, [x16]
        add     x17, x17, #1
        stxr    w15, x17, [x16]
        cbnz    w15, 1b
2:      mov     x16, x30                        /* the body */
        mov     x30, x9                         /* the function's LR, as it was */
        ret     x16
        .cfi_endproc
        .p2align 3
.Lcounter_slot:
        .quad   0
        .globl  sled_example_direct_tramp_end
sled_example_direct_tramp_end:
        .size   sled_example_direct_tramp, . - sled_example_direct_tramp

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
        .type   sled_example_direct_ret, %function
sled_example_direct_ret:
        hint    #34                             /* bti c */
        mov     x16, x30
        mov     x30, x9
        ret     x16
        .size   sled_example_direct_ret, . - sled_example_direct_ret
#endif
        .section .note.GNU-stack, "", %progbits
