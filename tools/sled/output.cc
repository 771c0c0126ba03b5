#include "output.h"

#include <fmt/format.h>
#include <unistd.h>

namespace sled::cli {
namespace {
ColorMode g_mode = ColorMode::automatic;
}

void set_color(ColorMode mode) { g_mode = mode; }

bool color_on() {
  if (g_mode == ColorMode::automatic) return isatty(STDOUT_FILENO) != 0;
  return g_mode == ColorMode::always;
}

std::string paint(const std::string &text, const char *sgr) {
  if (!color_on()) return text;
  return fmt::format("\033[{}m{}\033[0m", sgr, text);
}

std::string duration(uint64_t ns) {
  if (ns < 1000) return fmt::format("{:>7} ns", ns);
  if (ns < 1000000) return fmt::format("{:>7.3f} us", ns / 1e3);
  if (ns < 1000000000) return fmt::format("{:>7.3f} ms", ns / 1e6);
  return fmt::format("{:>7.3f}  s", ns / 1e9);
}

}  // namespace sled::cli
