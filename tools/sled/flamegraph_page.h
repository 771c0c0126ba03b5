// A self-contained, interactive flame graph (SVG with its own script: zoom
// on click, search, tooltips with calls and time) from folded stacks. No
// network fetch: everything is inline.
#pragma once

#include <map>
#include <string>

#include "stacks.h"

namespace sled::cli {
// The SVG document; `html` wraps it in a minimal HTML page.
std::string flamegraph(const std::map<std::string, StackValue> &stacks, const std::string &title,
                       bool html);
}  // namespace sled::cli
