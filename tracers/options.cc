// Option-word parsing (options.h). Allocates (std::string, std::map): the
// callers catch std::bad_alloc at their C boundary.
#include "tracers/options.h"

#include <cerrno>
#include <cstring>

namespace sled::tracers {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

int fail(std::string *error, std::string message) {
  if (error) *error = std::move(message);
  return -EINVAL;
}

bool in_list(const std::string &key, const char *const *list) {
  for (; list && *list; ++list)
    if (key == *list) return true;
  return false;
}

// Decimal digits only, no overflow past uint64_t.
bool parse_decimal(const std::string &text, size_t len, uint64_t *out) {
  if (len == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

int parse_words(const char *text, Options &out, std::string *error) {
  Options parsed;
  const char *p = text ? text : "";
  while (*p) {
    while (is_blank(*p)) ++p;
    if (!*p) break;
    const char *start = p;
    while (*p && !is_blank(*p)) ++p;
    std::string word(start, p);
    size_t eq = word.find('=');
    if (eq == std::string::npos) return fail(error, "option '" + word + "' is not key=value");
    if (eq == 0) return fail(error, "option '" + word + "' has no key");
    std::string key = word.substr(0, eq);
    if (!parsed.emplace(key, word.substr(eq + 1)).second)
      return fail(error, "option '" + key + "' given twice");
  }
  out = std::move(parsed);
  return 0;
}

int check_keys(const Options &opts, const char *const *allowed, const char *const *allowed2,
               const char *context, std::string *error) {
  for (const auto &[key, value] : opts) {
    if (in_list(key, allowed) || in_list(key, allowed2)) continue;
    std::string known;
    for (const char *const *l : {allowed, allowed2})
      for (; l && *l; ++l) known += std::string(known.empty() ? "" : ", ") + *l;
    return fail(error, std::string("unknown option '") + key + "' for " + context +
                           (known.empty() ? " (it takes none)" : " (known: " + known + ")"));
  }
  return 0;
}

int parse_size(const std::string &key, const std::string &text, size_t *out, std::string *error) {
  size_t len = text.size();
  unsigned shift = 0;
  if (len > 0) {
    switch (text[len - 1]) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift) --len;
  }
  uint64_t v = 0;
  if (!parse_decimal(text, len, &v))
    return fail(error, key + "='" + text + "' is not a size (digits with an optional K, M or G)");
  if (v == 0) return fail(error, key + "=" + text + " must be more than 0");
  if (v > (static_cast<uint64_t>(SIZE_MAX) >> shift))
    return fail(error, key + "=" + text + " is too large");
  *out = static_cast<size_t>(v << shift);
  return 0;
}

int parse_uint(const std::string &key, const std::string &text, uint64_t min, uint64_t max,
               uint64_t *out, std::string *error) {
  uint64_t v = 0;
  if (!parse_decimal(text, text.size(), &v) || v < min || v > max)
    return fail(error, key + "='" + text + "' is not an integer in " + std::to_string(min) + ".." +
                           std::to_string(max));
  *out = v;
  return 0;
}

int parse_bool(const std::string &key, const std::string &text, bool *out, std::string *error) {
  if (text != "0" && text != "1") return fail(error, key + "='" + text + "' is not 0 or 1");
  *out = text == "1";
  return 0;
}

int parse_choice(const std::string &key, const std::string &text, const char *const *choices,
                 unsigned *out, std::string *error) {
  std::string known;
  for (unsigned i = 0; choices[i]; ++i) {
    if (text == choices[i]) {
      *out = i;
      return 0;
    }
    known += std::string(i ? "|" : "") + choices[i];
  }
  return fail(error, key + "='" + text + "' is not one of " + known);
}

const std::string *find(const Options &opts, const char *key) {
  auto it = opts.find(key);
  return it == opts.end() ? nullptr : &it->second;
}

}  // namespace sled::tracers
