/* workload.h — the example's instrumented toy workload (workload.c).
 *
 * Plain C functions shaped like a record pipeline: format, parse, hash,
 * compress. They know nothing of sled; the example traces them live. */
#ifndef SLED_EXAMPLE_WORKLOAD_H
#define SLED_EXAMPLE_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct field {
  const char *key, *value;
  size_t key_len, value_len;
};

struct record {
  uint32_t id;
  const char *data;
  size_t data_len;
};

size_t format_record(uint32_t id, char *buf, size_t cap);
const char *parse_field(const char *p, struct field *out);
int parse_record(const char *text, struct record *out);
uint64_t hash_fnv1a(const void *data, size_t len);
uint64_t hash_mix(uint64_t h);
uint64_t hash_combine(uint64_t a, uint64_t b);
size_t compress_rle(const char *in, size_t len, char *out, size_t cap);

/* One pass of the pipeline over record `id`; returns a digest. */
uint64_t process_record(uint32_t id);

#ifdef __cplusplus
}
#endif
#endif /* SLED_EXAMPLE_WORKLOAD_H */
