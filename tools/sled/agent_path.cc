// The search for libsled-preload.so (agent_path.h): relative to
// /proc/self/exe first, so a build tree or a relocated install uses its own
// agent, then the path CMake installs it to.
#include "agent_path.h"

#include <filesystem>

namespace sled::cli {

std::string preload_agent_path() {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path &candidate :
         {self.parent_path() / "../../agent/libsled-preload.so",
          self.parent_path() / "../lib/libsled-preload.so",
          self.parent_path() / "../" SLED_INSTALL_LIBDIR "/libsled-preload.so"})
      if (fs::exists(candidate, ec)) return fs::canonical(candidate, ec).string();
  }
  return SLED_AGENT_INSTALLED;
}

}  // namespace sled::cli
