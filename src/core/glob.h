// ftrace-style glob matching: '*' matches any run of characters, '?' any
// one; everything else (including '[' in C++ operator names) is literal.
#pragma once
#include <string_view>

namespace sled {
bool glob_match(std::string_view pattern, std::string_view text);
bool has_glob(std::string_view pattern);
}  // namespace sled
