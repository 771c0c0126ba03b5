/* feature_note.h — for aarch64 assembly: SLED_FEATURE_NOTE emits the GNU
 * property note (NT_GNU_PROPERTY_TYPE_0, GNU_PROPERTY_AARCH64_FEATURE_1_AND)
 * that marks an object BTI and/or PAC compatible, with the features the
 * compiler was asked for (-mbranch-protection). A module keeps BTI only when
 * every object linked into it carries the note. Used by sled's trampolines
 * and by tests/bti's start file. */
#ifndef SLED_ARCH_AARCH64_FEATURE_NOTE_H
#define SLED_ARCH_AARCH64_FEATURE_NOTE_H

#if defined(__ARM_FEATURE_BTI_DEFAULT)
#define SLED_FEATURE_BTI 1
#else
#define SLED_FEATURE_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT)
#define SLED_FEATURE_PAC 2
#else
#define SLED_FEATURE_PAC 0
#endif

/* Assembly: clang-format would rewrite it. */
/* clang-format off */
#if SLED_FEATURE_BTI || SLED_FEATURE_PAC
#define SLED_FEATURE_NOTE                                                  \
        .pushsection .note.gnu.property, "a";                              \
        .p2align 3;                                                        \
        .word 4;                           /* namesz */                    \
        .word 16;                          /* descsz */                    \
        .word 5;                           /* NT_GNU_PROPERTY_TYPE_0 */    \
        .asciz "GNU";                                                      \
        .word 0xc0000000;                  /* ..._AARCH64_FEATURE_1_AND */ \
        .word 4;                                                           \
        .word SLED_FEATURE_BTI | SLED_FEATURE_PAC;                         \
        .word 0;                                                           \
        .popsection
#else
#define SLED_FEATURE_NOTE
#endif
/* clang-format on */

#endif
