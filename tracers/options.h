// Option words of the tracer API and the preload agent: "key=value" words
// separated by blanks, sizes with K/M/G suffixes, unsigned integers, 0|1
// switches. Pure parsing: no sled call, no global state, nothing recorded;
// every failure is -EINVAL with a sentence in *error naming the word at
// fault, and leaves the output untouched. Used by trace_api.cc and by
// agent/ (through this header only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tracers/tracer.h"

namespace sled::tracers {

// Splits `text` (NULL or "" gives no words) into out. A word without '=',
// with an empty key, or a key given twice is -EINVAL.
int parse_words(const char *text, Options &out, std::string *error);

// -EINVAL naming the first key of opts that is neither in `allowed`
// (nullptr-ended, may be nullptr) nor in `allowed2` (same).
int check_keys(const Options &opts, const char *const *allowed, const char *const *allowed2,
               const char *context, std::string *error);

// "4096", "64K", "4M", "1G" (suffixes are powers of 1024, either case).
// Rejects empty, signs, other suffixes, 0 and overflow.
int parse_size(const std::string &key, const std::string &text, size_t *out, std::string *error);

// A decimal integer in [min, max].
int parse_uint(const std::string &key, const std::string &text, uint64_t min, uint64_t max,
               uint64_t *out, std::string *error);

// "0" or "1".
int parse_bool(const std::string &key, const std::string &text, bool *out, std::string *error);

// One of the nullptr-ended `choices`; *out is its index.
int parse_choice(const std::string &key, const std::string &text, const char *const *choices,
                 unsigned *out, std::string *error);

// The value of key in opts, or nullptr.
const std::string *find(const Options &opts, const char *key);

}  // namespace sled::tracers
