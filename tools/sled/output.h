// Terminal output shared by the subcommands: colour on a terminal only
// (--color=auto|always|never), durations in uftrace's style.
#pragma once

#include <cstdint>
#include <string>

namespace sled::cli {

enum class ColorMode { automatic, always, never };
void set_color(ColorMode mode);
bool color_on();
// `text` wrapped in an SGR colour code when colour is on.
std::string paint(const std::string &text, const char *sgr);

// "   1.234 us", "123.456 ms": 3 decimals, unit chosen by size, width 10.
std::string duration(uint64_t ns);

}  // namespace sled::cli
