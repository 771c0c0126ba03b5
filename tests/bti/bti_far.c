/* bti_far.c — libsled_bti_far.so, dlopen'ed by the BTI-enforced check
 * (bti_check.c). Linked with -z force-bti, so the loader maps its text with
 * PROT_BTI; loaded far from the executable, so its sites reach the
 * trampoline through a near stub (`ldr x16; br x16`), an indirect branch
 * that needs the trampoline's landing pad.
 *
 * far_unmarked shares far_traced's page and has no landing pad: calling it
 * through a pointer must raise SIGILL for as long as that page keeps
 * PROT_BTI, which sled must not drop when it patches far_traced. */

/* aligned(4096): both functions sit at the start of one page. */
__attribute__((noinline, aligned(4096))) int far_traced(int x) { return x * 3; }

__attribute__((noinline, target("branch-protection=none"), patchable_function_entry(0, 0))) int
far_unmarked(int x) {
  return x - 1;
}
