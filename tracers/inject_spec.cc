// Parsing of fault-injection specs (inject_spec.h). The pattern may itself
// contain ':' (a demangled C++ name "ns::f"), so the action is found as the
// first ":delay=" or ":return=" and everything before it is the pattern.
#include "tracers/inject_spec.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace sled::tracers::inject {
namespace {

bool parse_u64(const std::string &s, uint64_t *out) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || s[0] == ' ') return false;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 0);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool parse_value(const std::string &s, uint64_t *out) {
  if (!s.empty() && s[0] == '-') {
    errno = 0;
    char *end = nullptr;
    long long v = strtoll(s.c_str(), &end, 0);
    if (errno || *end || s.size() < 2) return false;
    *out = static_cast<uint64_t>(v);
    return true;
  }
  return parse_u64(s, out);
}

bool parse_prob(const std::string &s, double *out) {
  if (s.empty() || s[0] == ' ') return false;
  errno = 0;
  char *end = nullptr;
  double v = strtod(s.c_str(), &end);
  if (errno || *end || !(v > 0.0 && v <= 1.0)) return false;
  *out = v;
  return true;
}

}  // namespace

bool parse_spec(const std::string &text, Spec *out, std::string *error) {
  Spec spec;
  size_t d = text.find(":delay="), r = text.find(":return=");
  size_t at = std::min(d, r);
  if (at == std::string::npos) {
    *error = "expected PATTERN:delay=USEC or PATTERN:return=VALUE";
    return false;
  }
  spec.pattern = text.substr(0, at);
  if (spec.pattern.find_first_not_of(" ,") == std::string::npos) {
    *error = "empty pattern";
    return false;
  }
  bool has_every = false;
  size_t pos = at + 1;
  bool first = true;
  while (pos <= text.size()) {
    size_t end = text.find(':', pos);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = word.find('=');
    std::string key = word.substr(0, eq),
                value = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (eq == std::string::npos) {
      *error = "'" + word + "' is not key=value";
      return false;
    }
    if (first && key == "delay") {
      spec.action = Action::delay;
      if (!parse_u64(value, &spec.delay_us) || spec.delay_us == 0 || spec.delay_us > kMaxDelayUs) {
        *error = "delay='" + value + "': expected microseconds, 1 to 10000000";
        return false;
      }
    } else if (first && key == "return") {
      spec.action = Action::ret;
      if (!parse_value(value, &spec.value)) {
        *error = "return='" + value + "': expected an integer";
        return false;
      }
    } else if (key == "every" && !has_every && !spec.has_prob) {
      has_every = true;
      if (!parse_u64(value, &spec.every) || spec.every == 0) {
        *error = "every='" + value + "': expected an integer >= 1";
        return false;
      }
    } else if (key == "prob" && !has_every && !spec.has_prob) {
      spec.has_prob = true;
      if (!parse_prob(value, &spec.prob)) {
        *error = "prob='" + value + "': expected a probability in (0, 1]";
        return false;
      }
    } else if (key == "seed" && !spec.has_seed) {
      spec.has_seed = true;
      if (!parse_u64(value, &spec.seed)) {
        *error = "seed='" + value + "': expected an unsigned integer";
        return false;
      }
    } else {
      *error = "unexpected '" + word + "' (after the action: one of every=N or prob=P, and seed=N)";
      return false;
    }
    first = false;
  }
  *out = spec;
  return true;
}

}  // namespace sled::tracers::inject
