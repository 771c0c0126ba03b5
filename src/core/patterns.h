// Parsing of filter/notrace pattern strings into Pattern lists. Pure: no
// knowledge of sites or modules.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace sled {

struct Pattern {
  std::string name;     // glob over symbol, demangled, or bare demangled name
  std::string module;   // glob over the module file's basename; empty = any
  bool negate = false;  // "!pattern": remove matches
};

// Splits on spaces and commas outside () and <> (so "f(int, char)" stays one
// pattern). Returns 0, or -EINVAL with sled_last_error naming the token.
int parse_patterns(std::string_view text, std::vector<Pattern> *out);

// The demangled name without its parameter list and return type:
// "int ns::f<int>(int) const" -> "ns::f<int>".
std::string_view bare_function_name(std::string_view demangled);

}  // namespace sled
