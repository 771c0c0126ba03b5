/* direct_tramp.h — the example direct trampolines (direct_tramp_<arch>.S)
 * and a helper that copies the counting one into a page of its own. */
#ifndef SLED_EXAMPLE_DIRECT_TRAMP_H
#define SLED_EXAMPLE_DIRECT_TRAMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The counting trampoline as assembled (its counter slot 0: counts nothing)
 * and the smallest one (returns into the body at once). */
void sled_example_direct_tramp(void);
extern const char sled_example_direct_tramp_end[];
void sled_example_direct_ret(void);

/* A copy of the counting trampoline in a fresh page, counting into
 * *counter: mapped read+write, filled, then read+execute (never both
 * writable and executable). *size gets the trampoline's size for
 * sled_ops_set_direct. NULL if mmap or mprotect failed. */
void *sled_example_direct_make(uint64_t *counter, size_t *size);
/* Unmaps a copy: only once sled_unregister_ops has returned. */
int sled_example_direct_free(void *tramp);

#ifdef __cplusplus
}
#endif
#endif /* SLED_EXAMPLE_DIRECT_TRAMP_H */
