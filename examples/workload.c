/* workload.c — the example's instrumented code (built with sled_instrument).
 *
 * Toy parse/hash/compress functions called by the example's worker threads.
 * Every function is noinline and its result feeds the returned digest, so
 * each call really happens and each entry is a patchable site. Nothing here
 * depends on sled. */
#include "workload.h"

#define NOINLINE __attribute__((noinline))

static const char kAlphabet[] = "aaaabbbccd";

/* "id=<id>;data=<run-friendly text>": the data length varies with id. */
NOINLINE size_t format_record(uint32_t id, char *buf, size_t cap) {
  char digits[10];
  size_t n = 0, pos = 0;
  do {
    digits[n++] = (char)('0' + id % 10);
    id /= 10;
  } while (id && n < sizeof digits);
  const size_t data_len = 16 + (digits[0] - '0') * 4;
  if (cap < 3 + n + 6 + data_len + 1) return 0;
  buf[pos++] = 'i', buf[pos++] = 'd', buf[pos++] = '=';
  while (n) buf[pos++] = digits[--n];
  for (const char *s = ";data="; *s; ++s) buf[pos++] = *s;
  for (size_t i = 0; i < data_len; ++i) buf[pos++] = kAlphabet[(i / 3) % (sizeof kAlphabet - 1)];
  buf[pos] = '\0';
  return pos;
}

/* Splits "key=value" at p (ending at ';' or NUL); returns the next field or NULL. */
NOINLINE const char *parse_field(const char *p, struct field *out) {
  out->key = p;
  while (*p && *p != '=' && *p != ';') ++p;
  out->key_len = (size_t)(p - out->key);
  if (*p == '=') ++p;
  out->value = p;
  while (*p && *p != ';') ++p;
  out->value_len = (size_t)(p - out->value);
  return *p == ';' ? p + 1 : NULL;
}

NOINLINE int parse_record(const char *text, struct record *out) {
  struct field f;
  int fields = 0;
  out->id = 0, out->data = "", out->data_len = 0;
  for (const char *p = text; p; ++fields) {
    p = parse_field(p, &f);
    if (f.key_len == 2 && f.key[0] == 'i' && f.key[1] == 'd') {
      for (size_t i = 0; i < f.value_len; ++i)
        out->id = out->id * 10 + (uint32_t)(f.value[i] - '0');
    } else if (f.key_len == 4) {
      out->data = f.value, out->data_len = f.value_len;
    }
  }
  return fields;
}

NOINLINE uint64_t hash_fnv1a(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

NOINLINE uint64_t hash_mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

NOINLINE uint64_t hash_combine(uint64_t a, uint64_t b) {
  return hash_mix(a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2)));
}

/* Run-length encoding as (count, byte) pairs; returns the output size or 0. */
NOINLINE size_t compress_rle(const char *in, size_t len, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < len;) {
    size_t run = 1;
    while (i + run < len && in[i + run] == in[i] && run < 255) ++run;
    if (o + 2 > cap) return 0;
    out[o++] = (char)run, out[o++] = in[i];
    i += run;
  }
  return o;
}

NOINLINE uint64_t process_record(uint32_t id) {
  char text[96], packed[96];
  struct record rec;
  const size_t text_len = format_record(id, text, sizeof text);
  const int fields = parse_record(text, &rec);
  const size_t packed_len = compress_rle(rec.data, rec.data_len, packed, sizeof packed);
  uint64_t digest = hash_combine(hash_fnv1a(text, text_len), hash_fnv1a(packed, packed_len));
  return hash_combine(digest, (uint64_t)rec.id + (uint64_t)fields);
}
