/* site_layouts.S — x86_64 patch sites at the three alignments the trap-free
 * protocol (src/arch/x86_64/text_patch.cc) treats differently. Assembled
 * without -fpatchable-function-entry: the site table is this file's. Each
 * function is `literal; [endbr64;] nopl 0(%rax,%rax); lea 1(%rdi),%eax; ret`.
 *
 *   layout_whole8    entry 16-aligned, no endbr64: the site's 5 bytes lie in
 *                    one aligned 8-byte word (one atomic 8-byte store)
 *   layout_whole16   entry 16-aligned, endbr64: the site (entry+4..+8)
 *                    crosses an 8-byte boundary inside one 16-byte block
 *                    (cmpxchg16b)
 *   layout_stepped   entry = 8 mod 16, endbr64: the site crosses a 16-byte
 *                    boundary (jmp first, tail, head; a sync after each) */
#if defined(__x86_64__)
        .text
        .p2align 4
        .byte 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc
.Lwhole8_literal:
        .byte 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90
        .globl layout_whole8
        .type layout_whole8, @function
layout_whole8:
        .byte 0x0f, 0x1f, 0x44, 0x00, 0x00
        lea 1(%rdi), %eax
        ret
        .size layout_whole8, . - layout_whole8

        .p2align 4
        .byte 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc
.Lwhole16_literal:
        .byte 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90
        .globl layout_whole16
        .type layout_whole16, @function
layout_whole16:
        endbr64
        .byte 0x0f, 0x1f, 0x44, 0x00, 0x00
        lea 1(%rdi), %eax
        ret
        .size layout_whole16, . - layout_whole16

        .p2align 4
.Lstepped_literal:
        .byte 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90
        .globl layout_stepped
        .type layout_stepped, @function
layout_stepped:
        endbr64
        .byte 0x0f, 0x1f, 0x44, 0x00, 0x00
        lea 1(%rdi), %eax
        ret
        .size layout_stepped, . - layout_stepped

        .section __patchable_function_entries, "aw", @progbits
        .p2align 3
        .quad .Lwhole8_literal
        .quad .Lwhole16_literal
        .quad .Lstepped_literal
#endif
        .section .note.GNU-stack, "", %progbits
