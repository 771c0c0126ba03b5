/* bti_start.S — the program entry of the BTI-enforced check, in place of
 * the C library's crt1.o/crti.o/crtbegin.o: Debian 12's arm64 start files
 * carry no landing pads (its _start begins with a NOP where `bti c` goes),
 * so a program linked with them and -z force-bti dies with SIGILL before
 * main. This entry does what glibc's _start does, behind a landing pad. */
#include "arch/aarch64/feature_note.h"

        .text
        .p2align 3
        .globl  _start
        .type   _start, %function
_start:
        hint    #38                     /* bti jc: the loader jumps here with br */
        mov     x29, #0
        mov     x30, #0
        mov     x5, x0                  /* rtld_fini */
        ldr     x1, [sp]                /* argc */
        add     x2, sp, #8              /* argv */
        mov     x6, sp                  /* stack_end */
        adrp    x0, :got:main
        ldr     x0, [x0, #:got_lo12:main]
        mov     x3, #0                  /* init, fini: the loader runs them */
        mov     x4, #0
        bl      __libc_start_main
        bl      abort
        .size   _start, . - _start

/* __dso_handle (crtbegin.o's): what __cxa_atexit records static destructors
 * under; 0 for an executable. */
        .section .data.rel.ro, "aw"
        .p2align 3
        .globl  __dso_handle
        .hidden __dso_handle
        .type   __dso_handle, %object
__dso_handle:
        .quad   0
        .size   __dso_handle, 8

        .section .note.GNU-stack, "", %progbits

/* Built with -mbranch-protection=standard: BTI and PAC. */
SLED_FEATURE_NOTE
