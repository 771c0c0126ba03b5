// gen_modules.cc — see gen_modules.h.
#include "gen_modules.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

std::string module_file_name(const GenModule& m) {
  const char* slash = std::strrchr(m.path, '/');
  return slash ? slash + 1 : m.path;
}

std::string in_module(const char* functions, const GenModule& m) {
  return std::string(functions) + "@" + module_file_name(m);
}

void load_gen_module(const GenModule& m) {
  if (!dlopen(m.path, RTLD_NOW | RTLD_LOCAL)) {
    std::fprintf(stderr, "sled-bench-dispatch: cannot load %s: %s\n", m.path, dlerror());
    std::exit(1);
  }
}

}  // namespace bench
