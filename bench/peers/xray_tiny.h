/* xray_tiny.h — the tiny function built with XRay sleds (xray_tiny.c). */
#ifndef SLED_BENCH_PEERS_XRAY_TINY_H
#define SLED_BENCH_PEERS_XRAY_TINY_H

#ifdef __cplusplus
extern "C" {
#endif

int xray_tiny_all(int x);   /* entry and exit sleds (XRay's default bundle) */
int xray_tiny_entry(int x); /* entry sled only */

#ifdef __cplusplus
}
#endif
#endif /* SLED_BENCH_PEERS_XRAY_TINY_H */
