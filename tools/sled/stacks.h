// Folded call stacks ("main;parse;leaf 1234"): the input of flame graphs,
// built from the call trees. Values are self time in ns (or calls).
#pragma once

#include <map>
#include <string>

#include "trace_model.h"

namespace sled::cli {
struct StackValue {
  uint64_t self_ns = 0;
  uint64_t calls = 0;
};
// Every call path (names joined by ';', thread-independent) and its value.
std::map<std::string, StackValue> folded_stacks(const TraceModel &m);
}  // namespace sled::cli
