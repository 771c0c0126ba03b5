/* Instrumented functions of the signal tests (sig_fixture.c) and, on x86_64,
 * the hand-laid sites of site_layouts.S. */
#ifndef SLED_TESTS_SIG_FIXTURE_H
#define SLED_TESTS_SIG_FIXTURE_H
#ifdef __cplusplus
extern "C" {
#endif
int sig_work(int x);
int sig_handler_work(int x);
#if defined(__x86_64__)
/* Each returns x + 1; see site_layouts.S for where its patch site sits. */
int layout_whole8(int x);
int layout_whole16(int x);
int layout_stepped(int x);
#endif
#ifdef __cplusplus
}
#endif
#endif
