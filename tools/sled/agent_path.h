// Where the preload agent (libsled-preload.so) is, for the subcommands that
// load it into a program: `sled record` (LD_PRELOAD) and `sled attach`
// (dlopen in the target). Finds the file only; never loads or checks it.
#pragma once

#include <string>

namespace sled::cli {

// libsled-preload.so next to this program (the build tree, or lib/ or the
// configured libdir of the install prefix), else where CMake installs it.
std::string preload_agent_path();

}  // namespace sled::cli
