// gen_modules.h — the generated modules sled-bench-dispatch dlopens:
// libsled-gen-{1k,10k,100k}.so, gen_0 .. gen_<N-1> built with sled's flags
// (bench/gen). Their paths are fixed at build time.
#pragma once
#include <cstddef>
#include <string>

namespace bench {

struct GenModule {
  const char* label;  // "1k"
  size_t functions;   // 1000
  const char* path;   // absolute path of the .so
};

inline constexpr GenModule kGenModules[] = {
    {"1k", 1000, SLED_BENCH_GEN_1K_PATH},
    {"10k", 10000, SLED_BENCH_GEN_10K_PATH},
    {"100k", 100000, SLED_BENCH_GEN_100K_PATH},
};

// The module's file name: what `pattern@module` matches.
std::string module_file_name(const GenModule& m);
// "<functions>@<file name>", e.g. "gen_*@libsled-gen-1k.so".
std::string in_module(const char* functions, const GenModule& m);
// dlopen (sled's interposed one: the sites join at once); exits with a
// message when the module is missing. Stays loaded until exit.
void load_gen_module(const GenModule& m);

}  // namespace bench
