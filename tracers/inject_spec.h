// Parsing of a fault-injection spec (sled_inject_add):
//   PATTERN:ACTION[:WHEN][:seed=N]
//   ACTION  delay=USEC | return=VALUE
//   WHEN    every=N | prob=P
// Pure: strings in, a struct or a message out (unit-tested on its own).
#pragma once

#include <cstdint>
#include <string>

namespace sled::tracers::inject {

enum class Action { delay, ret };

struct Spec {
  std::string pattern;  // sled.h globs, commas or spaces between them
  Action action = Action::delay;
  uint64_t delay_us = 0;  // delay: 1..kMaxDelayUs
  uint64_t value = 0;     // return: the integer (negative values as two's complement)
  uint64_t every = 1;     // fire on calls every, 2*every, ... (1: every call)
  double prob = 1.0;      // fire with this probability, in (0, 1]
  bool has_prob = false;
  bool has_seed = false;
  uint64_t seed = 0;
};

// Ten seconds: a longer sleep in a traced call is a hang, not a fault.
constexpr uint64_t kMaxDelayUs = 10'000'000;

// true and *out on success; false and *error (one line, no trailing period).
bool parse_spec(const std::string &text, Spec *out, std::string *error);

}  // namespace sled::tracers::inject
