// The calling thread's last error detail (what failed, where, bytes found).
// Formatting only; no allocation, safe to call with sled's lock held.
#pragma once

namespace sled {
void set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *last_error();
// Formats `n` bytes as "0f 1f 44 00 08" into buf (for error messages).
const char *format_bytes(const unsigned char *bytes, unsigned n, char *buf, unsigned size);
}  // namespace sled
